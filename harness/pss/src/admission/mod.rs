//! TODO(helper): the PSA admission model (namespace policy, exemptions, request flows).

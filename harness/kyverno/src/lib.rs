//! Kyverno validate.podSecurity (see README).

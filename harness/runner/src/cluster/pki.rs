//! Certificates for a control plane the harness starts: one CA per run, a serving
//! certificate for loopback, an admin client certificate (group `system:masters`), and
//! the service-account signing key. Everything is generated fresh per run (rcgen, ECDSA
//! P-256) and never leaves the run's folder.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// A run's CA and what it signed.
pub struct Pki {
    pub ca: Pem,
    pub server: Pem,
    pub admin: Pem,
    /// The service-account token signing key (private PEM) and its public half.
    pub service_account_key: String,
    pub service_account_pub: String,
}

/// The admin credential's user name (PSA sees it as the requesting user).
pub const ADMIN_USER: &str = "pss-harness-admin";

fn fail(e: rcgen::Error) -> String {
    format!("cannot generate a certificate: {e}")
}

impl Pki {
    /// A CA, a serving certificate for `hosts` (IP strings become IP SANs), an admin
    /// client certificate and a service-account key.
    pub fn generate(hosts: &[String]) -> Result<Pki, String> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "pss-harness control plane CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(fail)?;
        let ca_key_pem = ca_key.serialize_pem();
        let ca = CertifiedIssuer::self_signed(ca, ca_key).map_err(fail)?;

        let mut server = CertificateParams::new(hosts.to_vec()).map_err(fail)?;
        server
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().map_err(fail)?;
        let server_cert = server.signed_by(&server_key, &ca).map_err(fail)?;

        let mut admin = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        admin
            .distinguished_name
            .push(DnType::CommonName, ADMIN_USER);
        admin
            .distinguished_name
            .push(DnType::OrganizationName, "system:masters");
        admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin_key = KeyPair::generate().map_err(fail)?;
        let admin_cert = admin.signed_by(&admin_key, &ca).map_err(fail)?;

        let sa = KeyPair::generate().map_err(fail)?;
        Ok(Pki {
            ca: Pem {
                cert: ca.pem(),
                key: ca_key_pem,
            },
            server: Pem {
                cert: server_cert.pem(),
                key: server_key.serialize_pem(),
            },
            admin: Pem {
                cert: admin_cert.pem(),
                key: admin_key.serialize_pem(),
            },
            service_account_key: sa.serialize_pem(),
            service_account_pub: sa.public_key_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_pem() {
        let pki = Pki::generate(&["127.0.0.1".into(), "localhost".into()]).unwrap();
        for cert in [&pki.ca.cert, &pki.server.cert, &pki.admin.cert] {
            assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        }
        for key in [&pki.server.key, &pki.admin.key, &pki.service_account_key] {
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        }
        assert!(
            pki.service_account_pub
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
    }
}

//! Certificates made by a test: a CA, a server certificate for `localhost` / `127.0.0.1` and a
//! client certificate signed by it, and an unrelated CA whose trust proves nothing; written as
//! PEM files into a temporary directory for redis-server and Herald to read.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// PEM files of a test PKI, removed when dropped.
pub struct TestPki {
    dir: TempDir,
}

impl TestPki {
    /// Makes the CA, the server and client certificates and the unrelated CA.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for certificates");
        let ca = authority("Herald test CA");
        write(dir.path(), "ca.pem", &ca.pem());
        leaf(dir.path(), "server", &ca, &["localhost", "127.0.0.1"]);
        leaf(dir.path(), "client", &ca, &["herald-node"]);
        let other = authority("Unrelated CA");
        write(dir.path(), "other-ca.pem", &other.pem());
        Self { dir }
    }

    /// A file of this PKI: `ca.pem`, `other-ca.pem`, `server.pem`, `server.key`,
    /// `client.pem`, `client.key`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// [`TestPki::path`] as a string for command lines and environment variables.
    pub fn file(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

fn leaf(dir: &Path, name: &str, ca: &CertifiedIssuer<'static, KeyPair>, names: &[&str]) {
    let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .expect("certificate parameters");
    let key = KeyPair::generate().expect("certificate key");
    let cert = params.signed_by(&key, ca).expect("signed certificate");
    write(dir, &format!("{name}.pem"), &cert.pem());
    write(dir, &format!("{name}.key"), &key.serialize_pem());
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write a PEM file");
}

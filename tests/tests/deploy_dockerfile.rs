//! `deploy/Dockerfile`, checked without a container engine: its stages, that the sources it
//! copies exist, pass its ignore file and form a workspace cargo can resolve offline, that the
//! binary it copies out of the builder is the one its build command makes, and that the image
//! runs as a numeric non-root user the chart agrees with, exposing the listeners it configures.

use std::path::{Path, PathBuf};
use std::process::Command;

use herald_tests::chart::{self, repo_root};

/// One instruction: its keyword and the rest of its (joined) line.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        joined.push(std::mem::take(&mut current));
    }
    joined
        .into_iter()
        .map(|line| {
            let (keyword, rest) = line.split_once(' ').unwrap_or((&line, ""));
            (keyword.to_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

/// Whether `path` (relative) is excluded by one of the ignore file's patterns (`**/name`,
/// `dir` and `dir/sub` forms, which are all the file uses).
fn ignored(path: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|pattern| {
        if let Some(name) = pattern.strip_prefix("**/") {
            path.split('/').any(|part| part == name)
        } else {
            path == pattern || path.starts_with(&format!("{pattern}/"))
        }
    })
}

fn copy_tree(from: &Path, to: &Path, relative: &str, patterns: &[String]) {
    if ignored(relative, patterns) {
        return;
    }
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            copy_tree(
                &entry.path(),
                &to.join(&name),
                &format!("{relative}/{name}"),
                patterns,
            );
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

#[test]
fn the_image_builds_what_it_copies_and_runs_as_a_numeric_non_root_user() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
    let patterns: Vec<String> =
        std::fs::read_to_string(root.join("deploy/Dockerfile.dockerignore"))
            .expect("deploy/Dockerfile.dockerignore beside the Dockerfile")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    let all = instructions(&text);
    let stages: Vec<&String> = all
        .iter()
        .filter(|(k, _)| k == "FROM")
        .map(|(_, rest)| rest)
        .collect();
    assert_eq!(stages.len(), 2, "a builder and a runtime stage: {stages:?}");
    assert!(
        stages[0].to_lowercase().ends_with(" as builder"),
        "{}",
        stages[0]
    );
    assert!(
        stages[0].starts_with("rust:"),
        "a Rust builder: {}",
        stages[0]
    );

    // The builder stage: its sources, its workdir, its build command.
    let runtime_at = all.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let (builder, runtime) = all.split_at(runtime_at);
    let workdir = builder
        .iter()
        .find(|(k, _)| k == "WORKDIR")
        .map(|(_, w)| w.clone())
        .expect("the builder has a WORKDIR");
    let context = tempfile::tempdir().unwrap();
    for (_, rest) in builder.iter().filter(|(k, _)| k == "COPY") {
        let parts: Vec<&str> = rest.split_whitespace().collect();
        let (sources, dest) = parts.split_at(parts.len() - 1);
        for source in sources {
            let path = root.join(source);
            assert!(
                path.exists(),
                "COPY {source}: no such path in the repository"
            );
            assert!(
                !ignored(source, &patterns),
                "COPY {source} is excluded by the ignore file"
            );
            let target = if dest[0].ends_with('/') || sources.len() > 1 || dest[0] == "./" {
                context.path().join(dest[0]).join(source)
            } else {
                context.path().join(dest[0])
            };
            copy_tree(&path, &target, source, &patterns);
        }
    }
    let metadata = Command::new(env!("CARGO"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .current_dir(context.path())
        .output()
        .expect("run cargo metadata");
    assert!(
        metadata.status.success(),
        "the copied sources do not form the workspace: {}",
        String::from_utf8_lossy(&metadata.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    // Cargo refuses to build a workspace one of whose members' targets is missing.
    let members: Vec<&serde_json::Value> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"].is_null())
        .collect();
    for target in members
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
    {
        let source = target["src_path"].as_str().unwrap();
        let relative = Path::new(source)
            .strip_prefix(context.path())
            .unwrap_or(Path::new(source));
        let needed = ["lib", "bin"]
            .iter()
            .any(|k| target["kind"].as_array().unwrap().iter().any(|t| t == k));
        if needed {
            assert!(
                Path::new(source).exists(),
                "the image's build context lacks {} (target {})",
                relative.display(),
                target["name"]
            );
        }
    }
    let node = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "herald-node")
        .expect("herald-node is in the copied workspace");
    assert!(
        node["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "herald" && t["kind"][0] == "bin")
    );
    assert!(node["features"]["cosmos-account"].is_array());
    let build = builder
        .iter()
        .find(|(k, r)| k == "RUN" && r.contains("cargo build"))
        .map(|(_, r)| r.clone())
        .expect("the builder runs cargo build");
    for flag in ["--release", "--locked", "-p herald-node", "--bin herald"] {
        assert!(build.contains(flag), "{build} lacks {flag}");
    }

    // The runtime stage copies exactly that binary and runs it.
    let copy = runtime
        .iter()
        .find(|(k, r)| k == "COPY" && r.starts_with("--from=builder"))
        .map(|(_, r)| r.clone())
        .expect("the runtime copies from the builder");
    let parts: Vec<&str> = copy.split_whitespace().collect();
    let built = PathBuf::from(&workdir).join("target/release/herald");
    assert_eq!(Path::new(parts[1]), built, "{copy}");
    let value = |keyword: &str| {
        runtime
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("the runtime stage has no {keyword}"))
    };
    assert_eq!(value("ENTRYPOINT"), format!("[\"{}\"]", parts[2]));
    assert_eq!(value("STOPSIGNAL"), "SIGTERM");
    let user = value("USER");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} is not numeric"));
    assert_ne!(uid, 0, "the image runs as root");
    let env = value("ENV");
    let exposed = value("EXPOSE");
    for (variable, default) in [("HERALD_LISTEN", "8080"), ("HERALD_ADMIN_LISTEN", "9090")] {
        assert!(
            env.contains(&format!("{variable}=0.0.0.0:{default}")),
            "{env}"
        );
        assert!(
            exposed.split_whitespace().any(|p| p == default),
            "EXPOSE {exposed}"
        );
    }

    // The chart runs the pods as that user.
    let rendered = chart::render(None);
    let pod = &rendered.get("Deployment", "herald-node")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], uid);
}

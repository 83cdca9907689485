//! The Helm chart, offline: it lints, every profile renders manifests Kubernetes' schemas
//! accept, the values schema refuses wrong values, every rendered `herald.toml` passes
//! `herald check` with the environment the pods get, the pods are hardened and drain behind the
//! Service, the plain manifests are current, and the alerts and the Grafana dashboard name
//! metrics Herald exports.

use std::collections::BTreeSet;
use std::path::Path;

use herald_tests::chart::{self, args, environment, profiles, render, repo_root, run};
use serde_json::Value;

/// The Kubernetes version the manifests are validated against.
const KUBERNETES: &str = "1.33.0";

fn kubernetes_validate(manifests: &str) -> chart::Run {
    let file = tempfile::NamedTempFile::new().expect("a temp file");
    std::fs::write(file.path(), manifests).expect("write the manifests");
    let path = file.path().display().to_string();
    run(
        Path::new("kubernetes-validate"),
        &["--strict", "-k", KUBERNETES, "--quiet", &path],
    )
}

#[test]
fn the_chart_lints_and_every_profile_renders_manifests_kubernetes_accepts() {
    let chart = chart::chart_dir().display().to_string();
    let mut cases: Vec<Option<&Path>> = vec![None];
    let all = profiles();
    assert!(all.len() >= 3, "helm/herald/ci has the profiles: {all:?}");
    cases.extend(all.iter().map(|p| Some(p.as_path())));
    for profile in cases {
        let shown = profile.map(|p| p.display().to_string());
        let mut lint = vec!["lint", "--strict", chart.as_str()];
        if let Some(shown) = &shown {
            lint.extend(["-f", shown.as_str()]);
        }
        let linted = run(&chart::helm(), &lint);
        assert!(
            linted.ok(),
            "helm lint {shown:?}: {}{}",
            linted.stdout,
            linted.stderr
        );
        let rendered = render(profile);
        let validated = kubernetes_validate(&rendered.text);
        assert!(
            validated.ok(),
            "kubernetes-validate {shown:?}: {}{}",
            validated.stdout,
            validated.stderr
        );
        // Only the Prometheus Operator's kinds lack a schema offline.
        for line in validated.stdout.lines().chain(validated.stderr.lines()) {
            assert!(
                line.contains("kind PrometheusRule") || line.contains("kind ServiceMonitor"),
                "{shown:?}: {line}"
            );
        }
    }
    // The validator does refuse what Kubernetes would.
    let broken = render(None)
        .text
        .replacen("containerPort: 8080", "containerPort: \"eighty\"", 1);
    assert!(
        !kubernetes_validate(&broken).ok(),
        "an invalid manifest passed"
    );
}

#[test]
fn the_schema_refuses_wrong_types_and_unknown_values() {
    for (set, complaint) in [
        ("node.replicas=three", "/node/replicas"),
        ("config.client.keep_alve=15s", "keep_alve"),
        ("config.client.keep_alive=soon", "/config/client/keep_alive"),
        ("service.type=Magic", "/service/type"),
        ("redis.url=http://redis:6379", "/redis/url"),
        ("config.feeds[0].name=x", "/config/feeds/0"),
        ("tests.hub=no-dashes", "/tests/hub"),
        ("replicas=3", "replicas"),
    ] {
        let run = chart::template(None, &["--set", set]);
        assert!(!run.ok(), "--set {set} was accepted");
        assert!(
            run.stderr.contains(complaint),
            "--set {set}: the error does not name {complaint}: {}",
            run.stderr
        );
    }
    let run = chart::template(None, &["--set", "redis.bundled.enabled=false"]);
    assert!(!run.ok());
    assert!(
        run.stderr.contains("redis: set redis.url"),
        "{}",
        run.stderr
    );
}

/// Fills in what a pod would read from its Secret: the connection string, the admin token,
/// a Redis URL, the profile's extra keys.
fn from_secret(entry: &Value) -> Option<String> {
    let key = entry["valueFrom"]["secretKeyRef"]["key"].as_str()?;
    Some(match key {
        "connection-string" => {
            "Endpoint=https://push.example.com;AccessKey=0123456789abcdef0123456789abcdef;Version=1.0;"
                .to_owned()
        }
        "admin-token" => "admin-secret".to_owned(),
        "redis-url" => "redis://:password@redis:6379".to_owned(),
        _ => "a-secret-value".to_owned(),
    })
}

/// What Kubernetes puts into fieldRef variables.
fn from_field(entry: &Value) -> Option<String> {
    match entry["valueFrom"]["fieldRef"]["fieldPath"].as_str()? {
        "metadata.name" => Some("herald-node-7d9c5b6f4-x2x9q".to_owned()),
        "status.podIP" => Some("10.244.1.17".to_owned()),
        other => panic!("unexpected fieldRef {other}"),
    }
}

#[test]
fn every_rendered_herald_toml_passes_herald_check_with_the_pods_environment() {
    let mut cases: Vec<Option<std::path::PathBuf>> = vec![None];
    cases.extend(profiles().into_iter().map(Some));
    for profile in cases {
        let rendered = render(profile.as_deref());
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("herald.toml");
        std::fs::write(&file, rendered.herald_toml()).expect("write herald.toml");
        for (deployment, mode) in [
            ("herald-node", "node"),
            ("herald-coordinator", "coordinator"),
        ] {
            let container = rendered.container(deployment);
            assert_eq!(args(container), [mode], "{profile:?} {deployment}");
            let mut env = environment(container, |e| from_field(e).or_else(|| from_secret(e)));
            for (name, value) in &mut env {
                if name == "HERALD_CONFIG" {
                    *value = file.display().to_string();
                }
            }
            let out = std::process::Command::new(herald_tests::binary::herald_binary())
                .args(["check", "--mode", mode])
                .env_clear()
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .output()
                .expect("run herald check");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{profile:?} {deployment}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                rendered.herald_toml()
            );
            assert!(
                stdout.contains("node_id = herald-node-7d9c5b6f4-x2x9q"),
                "{stdout}"
            );
            if mode == "node" {
                assert!(
                    stdout.contains("cluster.advertise_url = http://10.244.1.17:8080/"),
                    "{stdout}"
                );
                assert!(stdout.contains("admin.token = (redacted)"), "{stdout}");
            }
        }
    }
}

#[test]
fn node_pods_are_hardened_and_drain_after_leaving_the_service() {
    let rendered = render(None);
    let deployment = rendered.get("Deployment", "herald-node");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = rendered.container("herald-node");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let hardening = &container["securityContext"];
    assert_eq!(hardening["readOnlyRootFilesystem"], true);
    assert_eq!(hardening["allowPrivilegeEscalation"], false);
    assert_eq!(
        hardening["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .expect("a preStop pause");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let toml = rendered.herald_toml();
    let drain: u64 = toml
        .lines()
        .find_map(|l| l.strip_prefix("grace_period = \""))
        .and_then(|v| v.trim_end_matches("s\"").parse().ok())
        .expect("shutdown.grace_period in herald.toml");
    assert!(
        pause > 0 && grace > pause + drain,
        "pause {pause}, drain {drain}, grace {grace}"
    );

    let service = rendered.get("Service", "herald");
    assert!(
        service["spec"]
            .get("sessionAffinity")
            .is_none_or(|a| a == "None")
    );
    let admin = rendered.get("NetworkPolicy", "herald-node");
    assert_eq!(admin["spec"]["ingress"][1]["ports"][0]["port"], "admin");
    assert!(
        admin["spec"]["ingress"][1]["from"].is_array(),
        "the admin port is fenced"
    );
    // Production profile: the HPA replaces the replica count, and scales on connections too.
    let production = render(Some(&chart::chart_dir().join("ci/production-values.yaml")));
    assert!(
        production.get("Deployment", "herald-node")["spec"]
            .get("replicas")
            .is_none()
    );
    let hpa = production.get("HorizontalPodAutoscaler", "herald-node");
    let metrics: Vec<&Value> = hpa["spec"]["metrics"].as_array().unwrap().iter().collect();
    assert!(
        metrics
            .iter()
            .any(|m| m["pods"]["metric"]["name"] == "herald_connections")
    );
    assert!(
        production.find("StatefulSet", "herald-redis").is_none(),
        "no bundled Redis"
    );
    // Workload identity: the service account's client id and the pods' label.
    let cosmos = render(Some(&chart::chart_dir().join("ci/cosmos-values.yaml")));
    let account = cosmos.get("ServiceAccount", "herald");
    assert!(account["metadata"]["annotations"]["azure.workload.identity/client-id"].is_string());
    let labels = &cosmos.get("Deployment", "herald-node")["spec"]["template"]["metadata"]["labels"];
    assert_eq!(labels["azure.workload.identity/use"], "true");
}

#[test]
fn the_plain_manifests_are_rendered_from_the_current_chart() {
    let path = repo_root().join("deploy/kubernetes/herald.yaml");
    let committed = std::fs::read_to_string(&path).expect("deploy/kubernetes/herald.yaml");
    let script = repo_root().join("deploy/kubernetes/render.sh");
    let fresh = std::process::Command::new("bash")
        .arg(&script)
        .arg("--stdout")
        .env("HERALD_HELM", chart::helm())
        .output()
        .expect("run render.sh");
    assert!(
        fresh.status.success(),
        "render.sh: {}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    assert!(
        committed.as_bytes() == fresh.stdout.as_slice(),
        "deploy/kubernetes/herald.yaml is stale: run deploy/kubernetes/render.sh"
    );
}

/// The `herald_*` names in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("herald_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_') {
            end += 1;
        }
        let before = start.checked_sub(1).map(|b| bytes[b]);
        if !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            names.insert(text[start..end].to_owned());
        }
        i = end;
    }
    names
}

#[test]
fn the_alerts_and_the_dashboard_name_only_metrics_herald_exports() {
    let exported =
        metric_names(&std::fs::read_to_string(repo_root().join("node/src/metrics.rs")).unwrap());
    let production = render(Some(&chart::chart_dir().join("ci/production-values.yaml")));
    let rules = production.get("PrometheusRule", "herald");
    let alerts: Vec<&str> = rules["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    let runbook = std::fs::read_to_string(repo_root().join("deploy/RUNBOOK.md")).unwrap();
    for alert in &alerts {
        assert!(runbook.contains(alert), "deploy/RUNBOOK.md lacks {alert}");
    }
    assert_eq!(alerts.len(), 6, "{alerts:?}");
    let expressions: String = rules["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let dashboard =
        std::fs::read_to_string(repo_root().join("deploy/grafana/herald.json")).unwrap();
    let _: Value = serde_json::from_str(&dashboard).expect("the Grafana dashboard is JSON");
    for (what, text) in [
        ("alerts", expressions.as_str()),
        ("dashboard", dashboard.as_str()),
    ] {
        let named = metric_names(text);
        assert!(!named.is_empty(), "{what} name no metric");
        let unknown: Vec<&String> = named.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{what} name metrics Herald does not export: {unknown:?}"
        );
    }
}

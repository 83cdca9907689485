//! Connecting to a real Cosmos DB account: key or Entra ID credentials, then the container.
//!
//! Only with the `cosmos-account` cargo feature, which brings the SDK's HTTPS stack (reqwest
//! 0.13 on rustls with the ring provider Herald already builds) and `azure_identity`. Without
//! it [`container`] says how to rebuild; see node/Cargo.toml for why the feature is off by
//! default.

use azure_data_cosmos::clients::ContainerClient;
use url::Url;

use crate::config::CosmosAuth;

/// What to check when the account refuses the credentials of `auth` (401).
pub(crate) fn auth_hint(auth: &CosmosAuth) -> &'static str {
    match auth {
        CosmosAuth::Key(_) => {
            "check that source.key is a key of the account at source.endpoint (Azure portal: Keys), that key authentication is not disabled on the account, and that this host's clock is right (signatures carry the time)"
        }
        CosmosAuth::WorkloadIdentity { .. } => {
            "check the pod's service account has the azure.workload.identity/client-id annotation, the pod the azure.workload.identity/use label, the identity a federated credential for that service account, and that the token is for the account's tenant"
        }
        CosmosAuth::ManagedIdentity { .. } => {
            "check the managed identity is assigned to this VM, App Service or node pool (source.client_id for a user-assigned one) and is in the account's tenant"
        }
        CosmosAuth::Developer => {
            "run `az login` (or `azd auth login`) with an account in the Cosmos DB account's tenant"
        }
    }
}

/// Makes ring the process's rustls provider, which the SDK's reqwest builds its TLS from
/// (it panics without one): ring is what Herald's other HTTPS clients already use. Call it
/// before any Cosmos client starts, the embedded account's too (its runtime builds an HTTP
/// client for the instance-metadata probe). Installing fails only when one is installed.
#[cfg(feature = "cosmos-account")]
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client of `database`/`container` in the account at `endpoint`.
#[cfg(feature = "cosmos-account")]
pub(crate) async fn container(
    endpoint: &Url,
    auth: &CosmosAuth,
    database: &str,
    container: &str,
) -> Result<ContainerClient, String> {
    use std::sync::Arc;

    use azure_core::credentials::{Secret, TokenCredential};
    use azure_data_cosmos::{
        AccountEndpoint, AccountReference, CosmosClientBuilder, RoutingStrategy,
    };
    use azure_identity::{
        DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
        UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
    };

    install_crypto_provider();

    let endpoint = AccountEndpoint::from(endpoint.clone());
    let credential = |result: azure_core::Result<Arc<dyn TokenCredential>>| {
        result.map_err(|e| format!("cannot set up {} credentials: {e}", auth.name()))
    };
    let account = match auth {
        CosmosAuth::Key(key) => AccountReference::with_authentication_key(
            endpoint,
            Secret::new(key.expose().to_owned()),
        ),
        CosmosAuth::WorkloadIdentity { client_id } => {
            let options = WorkloadIdentityCredentialOptions {
                client_id: client_id.clone(),
                ..Default::default()
            };
            let made = WorkloadIdentityCredential::new(Some(options))
                .map(|c| c as Arc<dyn TokenCredential>);
            AccountReference::with_credential(endpoint, credential(made)?)
        }
        CosmosAuth::ManagedIdentity { client_id } => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                ..Default::default()
            };
            let made = ManagedIdentityCredential::new(Some(options))
                .map(|c| c as Arc<dyn TokenCredential>);
            AccountReference::with_credential(endpoint, credential(made)?)
        }
        CosmosAuth::Developer => {
            let made = DeveloperToolsCredential::new(None).map(|c| c as Arc<dyn TokenCredential>);
            AccountReference::with_credential(endpoint, credential(made)?)
        }
    };
    // An empty preference list: the account's own region order.
    let client = CosmosClientBuilder::new()
        .build(account, RoutingStrategy::PreferredRegions(Vec::new()))
        .await
        .map_err(|e| format!("{e}: {}", auth_hint(auth)))?;
    client
        .database_client(database)
        .container_client(container, None)
        .await
        .map_err(|e| {
            format!(
                "cannot open container {database}/{container}: {e}: check source.database and source.container, and {}",
                auth_hint(auth)
            )
        })
}

/// Without the `cosmos-account` feature: how to get a build that has it.
#[cfg(not(feature = "cosmos-account"))]
pub(crate) async fn container(
    endpoint: &Url,
    _auth: &CosmosAuth,
    _database: &str,
    _container: &str,
) -> Result<ContainerClient, String> {
    Err(format!(
        "this herald was built without the cosmos-account feature, so it cannot reach {}: build it with `cargo build --release --features cosmos-account` (or remove source.endpoint to use the embedded account in standalone mode)",
        endpoint.host_str().unwrap_or("the account")
    ))
}

//! The standalone demo: a live stock board served at `/` by `herald` (standalone mode only).
//!
//! The page subscribes to hub `stocks` and shows every `stockUpdated(document, meta)` push as a
//! row of the board — symbol, price, change and the time it arrived — flashing green when the
//! price rose and red when it fell. `document` is the changed document (`{"symbol": "MSFT",
//! "price": 431.2, "change": -0.4, ...}`; `id` stands in for a missing `symbol`, and a missing
//! `change` is computed from the previous price); `meta` is `{feed, partition, position, key}`,
//! and a `key` seen before is dropped, so a change delivered twice counts once. Anything can
//! push such updates: the standalone feed, or `curl` through the REST API:
//!
//! ```sh
//! curl -X POST http://127.0.0.1:8080/api/v1/hubs/stocks -H 'content-type: application/json' \
//!      -d '{"target":"stockUpdated","arguments":[{"symbol":"MSFT","price":431.2}]}'
//! ```
//!
//! The page's SignalR client is our own small implementation of the JSON hub protocol
//! (`assets/signalr-lite.js`, its transports in `assets/transports.js`): it negotiates at
//! `client/negotiate?hub=stocks`, then uses the first transport the server offers that works —
//! WebSockets, else Server-Sent Events, else long polling — and reconnects with backoff when
//! the connection drops or the server closes it with `allowReconnect`. The page shows the
//! transport in use and the connection status. When Herald requires client tokens, open the
//! page as `/?access_token=<token>` (mint one with `herald token --hub stocks`);
//! `/?transport=LongPolling` restricts the transports tried.
//!
//! Every file is compiled into the binary ([`assets`]) and served by [`page`], with an `ETag`
//! and `Cache-Control: no-cache` so a browser revalidates and never mixes files of two builds.
//! `herald node` does not serve the page: a cluster's `/` belongs to whatever fronts it.
//!
//! What feeds the board in standalone mode (unless `demo.enabled = false`):
//! - [`stocks`]: the embedded Cosmos DB container `demo/stocks` (partition key `/symbol`, 4
//!   feed ranges) and the `stocks` feed that pushes its changes as `stockUpdated` to hub
//!   `stocks`;
//! - [`writer`]: moves prices every `demo.interval` (`demo.writer = false` turns it off);
//! - [`documents`]: `POST /api/embedded/dbs/{db}/colls/{container}/docs` (and `herald write`)
//!   to write your own documents into the embedded account.

pub mod assets;
pub mod documents;
pub mod page;
pub mod standalone;
pub mod stocks;
pub mod writer;

pub use page::configure;

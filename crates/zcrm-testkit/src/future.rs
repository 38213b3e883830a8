//! Boxed futures.

/// A future the kit boxes: an `async fn`'s body is compiled in every crate
/// that awaits it, so the heavy ones (starting a server, HTTP calls) are
/// boxed here to be compiled once, not once per test binary.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

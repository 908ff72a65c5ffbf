//! What the operator console (the web face for people who run the network)
//! needs of the core beyond the use cases the API already calls: its
//! settings. Sign-in is [`crate::accounts::sign_in_to_console`]; who sees
//! what is [`crate::access`], as on every face.

/// `[console]`: the operator console's map and cookie.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    /// Map tiles, a URL template with `{z}`, `{x}` and `{y}` (for example
    /// an OpenStreetMap tile server). None: the map shows its markers on a
    /// blank ground, so the console works offline.
    pub tile_url: Option<String>,
    /// The attribution the tile provider asks for, shown on the map.
    pub tile_attribution: Option<String>,
    /// Mark the session cookie `Secure` even when this node serves plain
    /// HTTP (it sits behind a TLS-terminating proxy). With `tls_cert` set,
    /// or a request that came through a proxy as `X-Forwarded-Proto:
    /// https`, the cookie is `Secure` anyway.
    pub secure_cookie: bool,
}

impl ConsoleSettings {
    /// The origin of the tile server (`https://tile.example.org`), which the
    /// console's content security policy lets images come from.
    pub fn tile_origin(&self) -> Option<String> {
        let url = self.tile_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        // Leaflet's `{s}` picks a subdomain; a policy says that as `*`.
        let host = rest.split('/').next()?.replace("{s}", "*");
        let plain = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
        (!host.is_empty() && plain && matches!(scheme, "http" | "https"))
            .then(|| format!("{scheme}://{host}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tile_origin_is_the_scheme_and_host_of_the_template() {
        let settings = ConsoleSettings {
            tile_url: Some("https://{s}.tile.example.org/{z}/{x}/{y}.png".into()),
            ..ConsoleSettings::default()
        };
        assert_eq!(
            settings.tile_origin().as_deref(),
            Some("https://*.tile.example.org")
        );
        let none = ConsoleSettings::default();
        assert_eq!(none.tile_origin(), None);
        let odd = ConsoleSettings {
            tile_url: Some("javascript:alert(1)".into()),
            ..ConsoleSettings::default()
        };
        assert_eq!(odd.tile_origin(), None);
    }
}

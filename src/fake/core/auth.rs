//! The fake's credentials: the OAuth2 token endpoint, and Basic or Bearer on API calls.

use super::reply::ApiFailure;
use super::Config;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// Access keys (key id -> (secret, project)) and the tokens issued for them.
pub(crate) struct Tokens {
    keys: HashMap<String, (String, String)>,
    ttl: Duration,
    issued: Mutex<HashMap<String, (String, Instant)>>,
}

impl Tokens {
    pub fn new(cfg: &Config) -> Self {
        let mut keys = HashMap::new();
        keys.insert(
            cfg.key_id.clone(),
            (cfg.key_secret.clone(), cfg.project_id.clone()),
        );
        for (project, id, secret) in &cfg.extra_projects {
            keys.insert(id.clone(), (secret.clone(), project.clone()));
        }
        Tokens {
            keys,
            ttl: cfg.token_ttl,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn expire_all(&self) {
        let now = Instant::now();
        for (_, exp) in self.lock().values_mut() {
            *exp = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.issued.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The project a `key_id:secret` pair belongs to.
    fn check_key(&self, id: &str, secret: &str) -> Option<&str> {
        let (s, project) = self.keys.get(id)?;
        (s == secret).then_some(project.as_str())
    }

    fn basic(&self, encoded: &str) -> Option<&str> {
        let raw = STANDARD.decode(encoded.trim()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (id, secret) = raw.split_once(':')?;
        self.check_key(id, secret)
    }

    /// `POST /oauth2/token`: client credentials in the Basic header (or the form), answered
    /// as an OAuth2 server does, with `{"error": ...}` bodies on failure.
    pub fn token(&self, authorization: Option<&str>, form: &[u8]) -> (u16, String) {
        let fields: HashMap<String, String> =
            url::form_urlencoded::parse(form).into_owned().collect();
        let project = match authorization.and_then(|a| a.strip_prefix("Basic ")) {
            Some(b) => self.basic(b),
            None => match (fields.get("client_id"), fields.get("client_secret")) {
                (Some(id), Some(secret)) => self.check_key(id, secret),
                _ => None,
            },
        };
        let Some(project) = project else {
            return oauth_error(401, "invalid_client", "unknown key id or wrong secret");
        };
        if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            );
        }
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        let expires = Instant::now() + self.ttl;
        self.lock()
            .insert(token.clone(), (project.to_owned(), expires));
        let body = serde_json::json!({
            "access_token": token,
            "expires_in": self.ttl.as_secs(),
            "scope": "",
            "token_type": "bearer",
        });
        (200, body.to_string())
    }

    /// Checks an API call's credentials for `project`.
    pub fn authorize(&self, authorization: Option<&str>, project: &str) -> Result<(), ApiFailure> {
        let unauthenticated = |m: &str| ApiFailure::new(401, m.to_owned());
        let Some(value) = authorization else {
            return Err(unauthenticated(
                "Request is missing required authentication credential.",
            ));
        };
        let owner = if let Some(b) = value.strip_prefix("Basic ") {
            self.basic(b)
                .map(str::to_owned)
                .ok_or_else(|| unauthenticated("Request had invalid credentials."))?
        } else if let Some(t) = value.strip_prefix("Bearer ") {
            let issued = self.lock();
            match issued.get(t.trim()) {
                Some((p, exp)) if Instant::now() < *exp => p.clone(),
                Some(_) => return Err(unauthenticated("The access token has expired.")),
                None => return Err(unauthenticated("Request had invalid credentials.")),
            }
        } else {
            return Err(unauthenticated(
                "Unsupported authorization scheme; use Basic or Bearer.",
            ));
        };
        if owner != project {
            return Err(ApiFailure::new(
                403,
                format!("the credentials do not give access to project {project}"),
            ));
        }
        Ok(())
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> (u16, String) {
    let body = serde_json::json!({"error": error, "error_description": description});
    (status, body.to_string())
}

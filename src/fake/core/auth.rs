//! The fake's credentials: the OAuth2 token endpoint, and Basic or Bearer on API calls.

use super::reply::ApiFailure;
use crate::fake::Config;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// Access keys (key id -> (secret, project)) and the tokens issued for them, each with its
/// expiry on the fake's clock (so advancing the clock past it expires the token).
pub(crate) struct Tokens {
    keys: HashMap<String, (String, String)>,
    ttl: Duration,
    issued: Mutex<HashMap<String, (String, Duration)>>,
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

    pub fn expire_all(&self, now: Duration) {
        for (_, exp) in self.lock().values_mut() {
            *exp = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Duration)>> {
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
    /// Tokens are JWT-shaped (an `exp` claim in wall-clock seconds, `expires_at`), as the
    /// SDKs that renew ahead of expiry read them; the signature is random.
    pub fn token(
        &self,
        now: Duration,
        expires_at: i64,
        authorization: Option<&str>,
        form: &[u8],
    ) -> (u16, String) {
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
        let claims = serde_json::json!({"iss": "sinch-fake", "sub": project, "exp": expires_at});
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>()),
        );
        let expires = now + self.ttl;
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
    /// `bearer_only` services (see [`super::service::ServiceDef`]) refuse Basic credentials, valid
    /// or not.
    pub fn authorize(
        &self,
        now: Duration,
        authorization: Option<&str>,
        project: &str,
        bearer_only: bool,
    ) -> Result<(), ApiFailure> {
        let unauthenticated = |m: &str| ApiFailure::new(401, m.to_owned());
        let Some(value) = authorization else {
            return Err(unauthenticated(
                "Request is missing required authentication credential.",
            ));
        };
        let owner = if bearer_only && value.starts_with("Basic ") {
            return Err(unauthenticated(
                "This API accepts OAuth2 bearer tokens only, not Basic credentials.",
            ));
        } else if let Some(b) = value.strip_prefix("Basic ") {
            self.basic(b)
                .map(str::to_owned)
                .ok_or_else(|| unauthenticated("Request had invalid credentials."))?
        } else if let Some(t) = value.strip_prefix("Bearer ") {
            let issued = self.lock();
            match issued.get(t.trim()) {
                Some((p, exp)) if now < *exp => p.clone(),
                // The SDKs renew a token when the challenge says it expired.
                Some(_) => {
                    return Err(ApiFailure {
                        www_authenticate: Some(
                            "Bearer error=\"invalid_token\", error_description=\"Jwt expired\""
                                .into(),
                        ),
                        ..unauthenticated("The access token has expired.")
                    })
                }
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

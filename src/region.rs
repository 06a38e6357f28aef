//! Where the APIs live. An app is created in one region and must be called there; the region
//! picks the host of all three services.

use std::fmt;
use std::str::FromStr;

/// Where an app lives: `https://{region}.conversation.api.sinch.com`, and the same region's
/// Template Management and Batch hosts. There is no default: an app must be called in the
/// region it was created in, and data stays there, so the client asks for it
/// ([`crate::ClientBuilder::region`] or `SINCH_REGION`) rather than guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// United States.
    Us,
    /// European Union.
    Eu,
    /// Brazil.
    Br,
}

impl Region {
    /// Every region, in the order the error for a missing or unknown one lists them.
    pub const ALL: &'static [Region] = &[Region::Us, Region::Eu, Region::Br];

    /// The region's code as used in the host name.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Br => "br",
        }
    }

    /// The Conversation API's base URL in this region (without the project path).
    pub fn base_url(self) -> String {
        self.url(Service::Conversation)
    }

    /// The Template Management API's base URL in this region.
    pub fn templates_url(self) -> String {
        self.url(Service::Templates)
    }

    /// The Conversation Batch API's base URL in this region.
    pub fn batch_url(self) -> String {
        self.url(Service::Batch)
    }

    /// "us, eu or br", for errors.
    pub(crate) fn list() -> String {
        let codes: Vec<&str> = Region::ALL.iter().map(|r| r.as_str()).collect();
        words(&codes, "or")
    }

    pub(crate) fn url(self, service: Service) -> String {
        format!("https://{}.{}.api.sinch.com", self.as_str(), service.host())
    }
}

/// The APIs one client reaches, each on its own host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Conversation,
    Templates,
    Batch,
}

impl Service {
    pub(crate) const ALL: [Service; 3] =
        [Service::Conversation, Service::Templates, Service::Batch];

    /// The service's name in its host (and in the shared pace's keys).
    pub(crate) fn host(self) -> &'static str {
        match self {
            Service::Conversation => "conversation",
            Service::Templates => "template",
            Service::Batch => "conversationbatch",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The API's name, for errors.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Conversation => "Conversation API",
            Service::Templates => "Template Management API",
            Service::Batch => "Batch API",
        }
    }

    /// The builder's setter (and the error's name) for the service's URL.
    pub(crate) fn setter(self) -> &'static str {
        match self {
            Service::Conversation => "base_url",
            Service::Templates => "templates_url",
            Service::Batch => "batch_url",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_lowercase();
        Region::ALL
            .iter()
            .find(|r| r.as_str() == code)
            .copied()
            .ok_or_else(|| {
                crate::Error::Config(format!("unknown region {s:?}; expected {}", Region::list()))
            })
    }
}

/// "a, b and c" (with `conjunction` "and").
pub(crate) fn words(items: &[&str], conjunction: &str) -> String {
    match items.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
        None => String::new(),
    }
}

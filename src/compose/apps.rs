//! Apps and their channel credentials.

use crate::types::{
    required, AppCreateRequest, AppleBcCredentials, BasicAuthCredentials, ConversationChannel,
    ConversationChannelCredential, InstagramCredentials, KakaoTalkChatCredentials,
    KakaoTalkCredentials, LineCredentials, LineEnterpriseRegionCredentials, MmsCredentials,
    StaticBearerCredentials, StaticTokenCredentials, TelegramCredentials, WeChatCredentials,
};

impl AppCreateRequest {
    /// An app named `display_name` sending on these channels (see
    /// [`ConversationChannelCredential`]'s constructors).
    ///
    /// ```
    /// use sinch_conversation::types::{AppCreateRequest, ConversationChannel, ConversationChannelCredential, ProcessingMode};
    /// let app = AppCreateRequest::new(
    ///     "Bookings",
    ///     [
    ///         ConversationChannelCredential::static_bearer(ConversationChannel::Sms, "SERVICE_PLAN_ID", "API_TOKEN"),
    ///         ConversationChannelCredential::static_token(ConversationChannel::Messenger, "PAGE_ACCESS_TOKEN"),
    ///     ],
    /// )
    /// .with_processing_mode(ProcessingMode::Conversation);
    /// ```
    pub fn new(
        display_name: impl Into<String>,
        channel_credentials: impl IntoIterator<Item = ConversationChannelCredential>,
    ) -> Self {
        required::AppCreateRequest {
            display_name: display_name.into(),
            channel_credentials: channel_credentials.into_iter().collect(),
        }
        .into()
    }
}

impl ConversationChannelCredential {
    /// Credentials for `channel` with none set yet: set the one the channel takes with its
    /// `with_*` setter (`with_wechat_credentials(WeChatCredentials::new(..))`, ...).
    pub fn new(channel: ConversationChannel) -> Self {
        required::ConversationChannelCredential { channel }.into()
    }

    /// A claimed identity and a bearer token: SMS (service plan id and API token), WhatsApp
    /// (sender id and token), RCS, Viber Business Messages.
    pub fn static_bearer(
        channel: ConversationChannel,
        claimed_identity: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        Self::new(channel).with_static_bearer(StaticBearerCredentials::new(claimed_identity, token))
    }

    /// A token alone: Messenger (page access token), Viber.
    pub fn static_token(channel: ConversationChannel, token: impl Into<String>) -> Self {
        Self::new(channel).with_static_token(StaticTokenCredentials::new(token))
    }

    /// Telegram, with the bot's token.
    pub fn telegram(token: impl Into<String>) -> Self {
        Self::new(ConversationChannel::Telegram)
            .with_telegram_credentials(TelegramCredentials::new(token))
    }

    /// Instagram, with the account's token (its business account id with
    /// `with_instagram_credentials` when needed).
    pub fn instagram(token: impl Into<String>) -> Self {
        Self::new(ConversationChannel::Instagram)
            .with_instagram_credentials(InstagramCredentials::new(token))
    }

    /// LINE, with the channel's access token and secret.
    pub fn line(token: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::new(ConversationChannel::Line)
            .with_line_credentials(LineCredentials::new(token, secret))
    }
}

impl StaticBearerCredentials {
    /// A claimed identity and its bearer token.
    pub fn new(claimed_identity: impl Into<String>, token: impl Into<String>) -> Self {
        required::StaticBearerCredentials {
            claimed_identity: claimed_identity.into(),
            token: token.into(),
        }
        .into()
    }
}

impl StaticTokenCredentials {
    /// A token.
    pub fn new(token: impl Into<String>) -> Self {
        required::StaticTokenCredentials {
            token: token.into(),
        }
        .into()
    }
}

impl TelegramCredentials {
    /// The bot's token.
    pub fn new(token: impl Into<String>) -> Self {
        required::TelegramCredentials {
            token: token.into(),
        }
        .into()
    }
}

impl InstagramCredentials {
    /// The account's token.
    pub fn new(token: impl Into<String>) -> Self {
        required::InstagramCredentials {
            token: token.into(),
        }
        .into()
    }
}

impl LineCredentials {
    /// The channel's access token and secret.
    pub fn new(token: impl Into<String>, secret: impl Into<String>) -> Self {
        required::LineCredentials {
            token: token.into(),
            secret: secret.into(),
        }
        .into()
    }
}

impl LineEnterpriseRegionCredentials {
    /// The channel's access token and secret in one LINE region.
    pub fn new(token: impl Into<String>, secret: impl Into<String>) -> Self {
        required::LineEnterpriseRegionCredentials {
            token: token.into(),
            secret: secret.into(),
        }
        .into()
    }
}

impl WeChatCredentials {
    /// The official account's app id and app secret, and the token and AES key its server
    /// configuration uses.
    pub fn new(
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
        token: impl Into<String>,
        aes_key: impl Into<String>,
    ) -> Self {
        required::WeChatCredentials {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            token: token.into(),
            aes_key: aes_key.into(),
        }
        .into()
    }
}

impl KakaoTalkCredentials {
    /// The plus friend id and the sender key.
    pub fn new(plus_friend_id: impl Into<String>, sender_key: impl Into<String>) -> Self {
        required::KakaoTalkCredentials {
            kakaotalk_plus_friend_id: plus_friend_id.into(),
            kakaotalk_sender_key: sender_key.into(),
        }
        .into()
    }
}

impl KakaoTalkChatCredentials {
    /// The plus friend id.
    pub fn new(plus_friend_id: impl Into<String>) -> Self {
        required::KakaoTalkChatCredentials {
            kakaotalk_plus_friend_id: plus_friend_id.into(),
        }
        .into()
    }
}

impl MmsCredentials {
    /// The MMS account id and API key, and the account's user name and password.
    pub fn new(
        account_id: impl Into<String>,
        api_key: impl Into<String>,
        basic_auth: BasicAuthCredentials,
    ) -> Self {
        required::MmsCredentials {
            account_id: account_id.into(),
            api_key: api_key.into(),
            basic_auth,
        }
        .into()
    }
}

impl BasicAuthCredentials {
    /// A user name and its password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        required::BasicAuthCredentials {
            username: username.into(),
            password: password.into(),
        }
        .into()
    }
}

impl AppleBcCredentials {
    /// The Apple Messages for Business account id.
    pub fn new(business_chat_account_id: impl Into<String>) -> Self {
        required::AppleBcCredentials {
            business_chat_account_id: business_chat_account_id.into(),
        }
        .into()
    }
}

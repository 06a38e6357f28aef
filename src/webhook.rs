//! Webhook callbacks: signature verification and typed events (in progress).

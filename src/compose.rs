//! Constructors for the values users build, one module per area. The pattern: `X::new(..)`
//! takes the fields the API requires (in the order a sentence would name them), named
//! constructors build a common shape (`AppMessage::text`, `Choice::url`), and every optional
//! field has a generated `with_<field>(..)` setter. Each builds through the generated
//! `required::X` companions, so a field Sinch adds needs no change here.

mod apps;
mod batch;
mod contacts;
mod messages;
mod templates;
mod webhooks;

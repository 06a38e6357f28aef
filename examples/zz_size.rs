use sinch_conversation::{types, Client, Credentials};
fn main() {
    let client = Client::builder()
        .project_id("p")
        .base_url("http://127.0.0.1:1")
        .credentials(Credentials::basic("a", "b"))
        .build()
        .unwrap();
    let body: types::SendMessageRequest = serde_json::from_value(serde_json::json!({"app_id":"a","recipient":{"contact_id":"c"},"message":{"text_message":{"text":"t"}}})).unwrap();
    use sinch_conversation::prelude::*;
    let f = client.messages_send_message().body(body).send();
    println!("send future {}", std::mem::size_of_val(&f));
}

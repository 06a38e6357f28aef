//! Seals the operation traits (`ClientMessagesExt`, `ClientTemplatesExt`, ...): each requires
//! `crate::sealed::Sealed`, which only the generated clients implement and no code outside the
//! crate can name. So no type outside the crate implements an operation trait, and an operation
//! Sinch adds (a new method of a trait) is a minor release instead of a break.

use syn::{parse_quote, Item};

/// Adds the supertrait to every `Client*Ext` trait in `items` and implements it for the
/// document's `Client`; returns the traits' names.
pub fn seal_traits(items: &mut Vec<Item>) -> Vec<syn::Ident> {
    let mut sealed = vec![];
    for item in items.iter_mut() {
        let Item::Trait(t) = item else { continue };
        if !t.ident.to_string().ends_with("Ext") {
            continue;
        }
        t.supertraits.push(parse_quote!(crate::sealed::Sealed));
        sealed.push(t.ident.clone());
    }
    if !sealed.is_empty() {
        items.push(parse_quote!(impl crate::sealed::Sealed for Client {}));
    }
    sealed
}

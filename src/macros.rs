//! The two shapes the build script emits for the spec's enums and tagged unions.
//!
//! Both are *open*: Sinch adds channels, statuses and message kinds without notice, and a value
//! this version of the crate does not know must neither fail a response nor be lost when the
//! value is sent back. Known values stay typed and serialize exactly as on the wire.

/// A string enum with a catch-all `Unknown(String)` variant.
macro_rules! open_enum {
    (
        $(#[doc = $doc:expr])*
        $name:ident { $($variant:ident => $value:literal),* $(,)? }
    ) => {
        $(#[doc = $doc])*
        ///
        /// Open enum: a value unknown to this version deserializes into `Unknown` and
        /// serializes back unchanged.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $(#[doc = concat!("`", $value, "`")] $variant,)*
            /// A value this version of the crate does not know, kept verbatim.
            Unknown(::std::string::String),
        }

        impl $name {
            /// Every value this version knows, in the spec's order.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// True for a value this version does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(match s {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                })
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                match s.parse() {
                    Ok(v) => v,
                    Err(never) => match never {},
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(s: ::std::string::String) -> Self {
                match s.as_str() {
                    $($value => Self::$variant,)*
                    _ => Self::Unknown(s),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(self, s: &str) -> ::std::result::Result<$name, E> {
                        Ok($name::from(s))
                    }
                    fn visit_string<E: ::serde::de::Error>(self, s: ::std::string::String) -> ::std::result::Result<$name, E> {
                        Ok($name::from(s))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

/// A union tagged by a property (`{"message_type": "FLOWS", ...}`), with a catch-all
/// `Unknown(serde_json::Value)` variant that keeps a kind this version does not know verbatim.
/// Our spec models unions as flat objects, so only an upstream spec with discriminated `oneOf`
/// (after `cargo xtask update-spec --write`) expands it.
#[allow(unused_macros)]
macro_rules! tagged_union {
    (
        $(#[doc = $doc:expr])*
        $name:ident, tag = $tag:literal { $($variant:ident($value:literal) => $ty:ident),* $(,)? }
    ) => {
        $(#[doc = $doc])*
        ///
        #[doc = concat!("Tagged by `", $tag, "`. A kind unknown to this version deserializes into `Unknown` with the raw JSON and serializes back unchanged.")]
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $(#[doc = concat!("`", $tag, ": ", $value, "`")] $variant($ty),)*
            /// A kind this version of the crate does not know, kept verbatim.
            Unknown(::serde_json::Value),
        }

        impl $name {
            /// The value of the tag property, when present.
            pub fn tag(&self) -> ::std::option::Option<&str> {
                match self {
                    $(Self::$variant(_) => Some($value),)*
                    Self::Unknown(v) => v.get($tag).and_then(::serde_json::Value::as_str),
                }
            }
        }

        $(impl ::std::convert::From<$ty> for $name {
            fn from(v: $ty) -> Self {
                Self::$variant(v)
            }
        })*

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant(v) => v.serialize(s),)*
                    Self::Unknown(v) => v.serialize(s),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                use ::serde::de::Error as _;
                // The tag may come after the payload, so the value is buffered once; these
                // unions only appear in rarely-sent, channel-specific payloads.
                let v = ::serde_json::Value::deserialize(d)?;
                match v.get($tag).and_then(::serde_json::Value::as_str) {
                    $(Some($value) => ::serde_json::from_value(v).map(Self::$variant).map_err(D::Error::custom),)*
                    _ => Ok(Self::Unknown(v)),
                }
            }
        }
    };
}

pub(crate) use open_enum;
#[allow(unused_imports)]
pub(crate) use tagged_union;

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct Circle {
        kind: String,
        radius: f64,
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct Square {
        kind: String,
        side: f64,
    }

    tagged_union! {
        #[doc = "A test union."]
        Shape, tag = "kind" { Circle("CIRCLE") => Circle, Square("SQUARE") => Square }
    }

    open_enum! {
        #[doc = "A test enum."]
        Colour { Red => "RED", DarkBlue => "DARK_BLUE" }
    }

    #[test]
    fn tagged_unions_pick_by_tag_and_keep_unknown_kinds() {
        let circle: Shape =
            serde_json::from_value(json!({"radius": 2.0, "kind": "CIRCLE"})).unwrap();
        assert!(matches!(&circle, Shape::Circle(c) if c.radius == 2.0));
        assert_eq!(circle.tag(), Some("CIRCLE"));
        assert_eq!(
            serde_json::to_value(&circle).unwrap(),
            json!({"kind": "CIRCLE", "radius": 2.0})
        );

        let hex = json!({"kind": "HEXAGON", "side": 1, "extra": [1, 2]});
        let shape: Shape = serde_json::from_value(hex.clone()).unwrap();
        assert!(matches!(&shape, Shape::Unknown(_)));
        assert_eq!(shape.tag(), Some("HEXAGON"));
        assert_eq!(serde_json::to_value(&shape).unwrap(), hex);

        // A known tag with the wrong shape is an error, not a silent Unknown.
        assert!(
            serde_json::from_value::<Shape>(json!({"kind": "SQUARE", "side": "wide"})).is_err()
        );
        let from: Shape = Square {
            kind: "SQUARE".into(),
            side: 1.0,
        }
        .into();
        assert_eq!(from.tag(), Some("SQUARE"));
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        let c: Colour = serde_json::from_value(json!("DARK_BLUE")).unwrap();
        assert_eq!(c, Colour::DarkBlue);
        assert_eq!(c.to_string(), "DARK_BLUE");
        let u: Colour = serde_json::from_value(json!("ULTRAVIOLET")).unwrap();
        assert!(u.is_unknown());
        assert_eq!(u.as_str(), "ULTRAVIOLET");
        assert_eq!(serde_json::to_value(&u).unwrap(), json!("ULTRAVIOLET"));
        assert_eq!("RED".parse::<Colour>().unwrap(), Colour::Red);
        assert_eq!(Colour::KNOWN, ["RED", "DARK_BLUE"]);
    }
}

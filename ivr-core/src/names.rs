//! Enums written as snake_case names (in sessions, records, logs, answers and Telesign's events):
//! one table per enum gives the variant, its name, `as_str`, `parse`, `ALL`, and serde by that name, so
//! the name of a value is written down once. Hand-written serde, rather than derived, keeps the
//! wasm small: one string match per enum instead of serde's visitor machinery.

/// `named_enum! { /// doc \n pub enum Name { /// doc \n Variant = "wire", ... } }` for a closed
/// set, whose unknown names are refused; `pub open enum` for a set Telesign may extend, whose
/// unknown names are kept verbatim in `Unknown` (a variant's first name is the one written back,
/// the others, after `|`, are aliases accepted on input).
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name it is written as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value written as `wire`.
            pub fn parse(wire: &str) -> Option<Self> {
                $name::ALL.iter().copied().find(|value| value.as_str() == wire)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let wire = String::deserialize(deserializer)?;
                $name::parse(&wire).ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom($crate::names::unknown(
                        stringify!($name),
                        &wire,
                    ))
                })
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub open enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)*,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know (or `""` when absent), kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value as written in records and logs.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(other) => other,
                }
            }

            /// The value as written, unless this version does not know it.
            pub fn known(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($wire),)+
                    Self::Unknown(_) => None,
                }
            }
        }

        impl From<&str> for $name {
            fn from(wire: &str) -> Self {
                match wire {
                    $($wire $(| $alias)* => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self::from(<String as serde::Deserialize>::deserialize(deserializer)?.as_str()))
            }
        }
    };
}

/// The error message for a name no value has (one function for every enum, to keep the wasm
/// small).
pub(crate) fn unknown(kind: &str, wire: &str) -> String {
    format!("unknown {kind} `{wire}`")
}

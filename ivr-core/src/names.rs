//! Enums written as fixed snake_case names (in sessions, records, logs and answers): one table
//! per enum gives the variant, its name, `as_str`, `parse`, `ALL`, and serde by that name, so
//! the name of a value is written down once. Hand-written serde, rather than derived, keeps the
//! wasm small: one string match per enum instead of serde's visitor machinery.

/// `named_enum! { /// doc \n pub enum Name { /// doc \n Variant = "wire", ... } }`
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
}

/// The error message for a name no value has (one function for every enum, to keep the wasm
/// small).
pub(crate) fn unknown(kind: &str, wire: &str) -> String {
    format!("unknown {kind} `{wire}`")
}

//! Reading JSON: every read of the worker goes through [`read`].
//!
//! One reader, so that the wasm holds one copy of each type's deserializer (serde_json's readers
//! are generic, and each is a copy of every deserializer it is used with). And a struct is read
//! from a JSON object only: serde's derived code can also read a struct from an array of its
//! fields in order, which nothing the worker reads is, and which serde_json offers every struct
//! it reads, so that the wasm would hold, for every struct type, code reading it from an array.
//! [`Strict`] hands serde_json's `deserialize_struct` a visitor without that path ([`Fields`]),
//! and wraps every map, sequence, enum and value it hands on ([`Fwd`], [`Seed`]), so that the
//! structs inside them are read the same way. Everything else is serde_json's, its errors too.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use std::fmt;

/// `T` read from the JSON text `bytes`, all of it (whitespace may follow).
pub fn read<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> serde_json::Result<T> {
    // The text is checked to be UTF-8 once, here, for serde_json's reader of text, which then
    // reads strings without checking each: faster than its reader of bytes, which checks each.
    let text = std::str::from_utf8(bytes)
        .map_err(|e| <serde_json::Error as de::Error>::custom(format_args!("not UTF-8: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Strict(&mut de))?;
    de.end()?;
    Ok(value)
}

/// A deserializer that forwards to `D`, reading structs (and struct variants) from maps only.
struct Strict<D>(D);

/// A visitor that forwards to `V`, handing it the wrapped maps, sequences and enums.
struct Fwd<V>(V);

/// A struct's visitor: `V`'s maps, and no sequences (the default `visit_seq` refuses one).
struct Fields<V>(V);

/// A seed that deserializes through [`Strict`].
struct Seed<S>(S);

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*)),*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Fwd(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_option(),
        deserialize_unit(),
        deserialize_seq(),
        deserialize_map(),
        deserialize_identifier(),
        deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    );

    // A struct's visitor gets no sequence path: the one method not forwarded as it is.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Fields(visitor))
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Fwd<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }
    forward_visit!(
        visit_bool: bool, visit_i8: i8, visit_i16: i16, visit_i32: i32, visit_i64: i64,
        visit_i128: i128, visit_u8: u8, visit_u16: u16, visit_u32: u32, visit_u64: u64,
        visit_u128: u128, visit_f32: f32, visit_f64: f64, visit_char: char, visit_str: &str,
        visit_borrowed_str: &'de str, visit_string: String, visit_bytes: &[u8],
        visit_borrowed_bytes: &'de [u8], visit_byte_buf: Vec<u8>
    );
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Strict(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Strict(map))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(Strict(data))
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Fields<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Strict(map))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Seed(seed))?;
        Ok((value, Strict(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Fwd(visitor))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Fields(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::read;
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Point {
        x: u32,
        #[serde(default)]
        label: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Dot,
        Circle(u32),
        Box { w: u32, h: u32 },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        Named { name: String },
    }

    #[derive(Debug, Deserialize)]
    struct Outer<'a> {
        #[serde(borrow)]
        name: &'a str,
        points: Vec<Point>,
        shapes: Vec<Shape>,
        by_name: BTreeMap<String, Point>,
        raw: Box<RawValue>,
        #[serde(flatten)]
        rest: BTreeMap<String, u8>,
    }

    #[test]
    fn reads_what_serde_json_reads_from_objects() {
        let text = br#"{"name": "n", "points": [{"x": 1}, {"x": 2, "label": "b"}],
            "shapes": ["dot", {"circle": 3}, {"box": {"w": 1, "h": 2}}],
            "by_name": {"a": {"x": 5}}, "raw": {"kept": [1, "as is"]}, "extra": 7}"#;
        let outer: Outer = read(text).unwrap();
        assert_eq!(outer.name, "n");
        assert_eq!(
            outer.points[1],
            Point {
                x: 2,
                label: Some("b".into())
            }
        );
        assert_eq!(
            outer.shapes,
            [Shape::Dot, Shape::Circle(3), Shape::Box { w: 1, h: 2 }]
        );
        assert_eq!(outer.by_name["a"].x, 5);
        assert_eq!(outer.raw.get(), r#"{"kept": [1, "as is"]}"#);
        assert_eq!(outer.rest["extra"], 7);
        let tagged: Tagged = read(br#"{"kind": "named", "name": "t"}"#).unwrap();
        assert_eq!(tagged, Tagged::Named { name: "t".into() });
        let value: serde_json::Value = read(b" [1, {\"a\": null}] ").unwrap();
        assert_eq!(value, serde_json::json!([1, {"a": null}]));
    }

    #[test]
    fn a_struct_is_read_from_an_object_only() {
        // serde_json alone would read both as structs from their fields in order.
        assert!(serde_json::from_slice::<Point>(b"[1, null]").is_ok());
        let e = read::<Point>(b"[1, null]").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid type: sequence, expected struct Point at line 1 column 1"
        );
        let e = read::<Shape>(br#"{"box": [1, 2]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid type: sequence, expected struct variant"),
            "{e}"
        );
    }

    #[test]
    fn errors_are_serde_json_s_with_their_place() {
        let e = read::<Point>(b"{\"x\": \"1\"}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: string \"1\", expected u32 at line 1 column 9"
        );
        let e = read::<Point>(b"{\"x\": 1} x").unwrap_err();
        assert_eq!(e.to_string(), "trailing characters at line 1 column 10");
        assert!(read::<Point>(b"{\"x\": 1}\n").is_ok());
        let e = read::<Point>(b"{}").unwrap_err();
        assert_eq!(e.to_string(), "missing field `x` at line 1 column 2");
        let e = read::<Point>(b"{\"x\": 1, \"label\": \"\xff\"}").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("not UTF-8: invalid utf-8 sequence"),
            "{e}"
        );
    }
}

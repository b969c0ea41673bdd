//! Typed property values of tile features, shared by the generic layer
//! writer ([`crate::mvt`]) and the point fast path ([`crate::point_layer`]):
//! a module of its own so neither of those imports the other for it.

use std::borrow::Cow;

use fast_mvt::MvtValueRef;

/// A typed property value. MVT keeps the type: a client sees numbers as
/// numbers and booleans as booleans.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue<'a> {
    /// A string (`string_value`).
    String(Cow<'a, str>),
    /// A signed integer, written as `sint_value` (zig-zag: small negative
    /// numbers stay small on the wire).
    Int(i64),
    /// An unsigned integer (`uint_value`).
    UInt(u64),
    /// A 32-bit float (`float_value`).
    Float(f32),
    /// A 64-bit float (`double_value`).
    Double(f64),
    /// A boolean (`bool_value`).
    Bool(bool),
}

impl PropertyValue<'_> {
    /// The value as fast-mvt's borrowed value, for the generic feature path.
    pub(crate) fn as_mvt(&self) -> MvtValueRef<'_> {
        match self {
            Self::String(s) => MvtValueRef::String(s),
            Self::Int(v) => MvtValueRef::SInt(*v),
            Self::UInt(v) => MvtValueRef::UInt(*v),
            Self::Float(v) => MvtValueRef::Float(*v),
            Self::Double(v) => MvtValueRef::Double(*v),
            Self::Bool(v) => MvtValueRef::Bool(*v),
        }
    }
}

impl<'a> From<&'a str> for PropertyValue<'a> {
    fn from(v: &'a str) -> Self {
        Self::String(Cow::Borrowed(v))
    }
}

impl From<String> for PropertyValue<'_> {
    fn from(v: String) -> Self {
        Self::String(Cow::Owned(v))
    }
}

impl<'a> From<Cow<'a, str>> for PropertyValue<'a> {
    fn from(v: Cow<'a, str>) -> Self {
        Self::String(v)
    }
}

macro_rules! property_from {
    ($($t:ty => $variant:ident as $as:ty),* $(,)?) => {$(
        impl From<$t> for PropertyValue<'_> {
            fn from(v: $t) -> Self {
                Self::$variant(<$as>::from(v))
            }
        }
    )*};
}

property_from!(
    i64 => Int as i64,
    i32 => Int as i64,
    u64 => UInt as u64,
    u32 => UInt as u64,
    f64 => Double as f64,
    f32 => Float as f32,
    bool => Bool as bool,
);

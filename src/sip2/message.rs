//! The shape of every SIP2 2.00 message: one struct per message (fixed fields in spec order,
//! then identified fields in encoding order, then `extra`), generated with the parser and
//! encoder that go with it, and the `Request` / `Response` command tables. Each message also has
//! a view (`…View<'a>`, `RequestView`, `ResponseView`): what the parser produces, its text and
//! credentials borrowed from the frame; the owned message is built from it.
//!
//! Owns: the `sip_message!` and `command_table!` macros. Must not import anything from the
//! crate outside `sip2`.

pub use super::request::*;
pub use super::response::*;

/// Declares a message struct with its parser and encoder, and its view borrowed from the frame.
///
/// `Name / NameView { … }`. Fixed fields: `name: Type as Format,` (a `FixedFormat`), then `;`,
/// then identified fields: `name: Type = FieldId,`. The field type decides presence rules:
/// `String`/`Secret` required, `Option<_>` optional, `Vec<String>` repeatable; in the view each
/// identified field is its type's `TakeField::View` (text as `Cow<str>`, credentials as
/// `SecretView`), fixed fields are the same values as in the owned struct.
macro_rules! sip_message {
    (
        $(#[$meta:meta])*
        $name:ident / $view:ident {
            $( $(#[$fmeta:meta])* $ffield:ident : $fty:ty as $fmt:ty, )*
            ;
            $( $(#[$vmeta:meta])* $vfield:ident : $vty:ty = $vid:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $ffield: $fty, )*
            $( $(#[$vmeta])* pub $vfield: $vty, )*
            /// Fields this message does not define, in arrival order (credentials excluded).
            pub extra: Vec<($crate::sip2::field::FieldId, String)>,
        }

        #[doc = concat!("[`", stringify!($name), "`] as parsed, its values borrowed from the frame.")]
        #[derive(Debug, Clone, PartialEq)]
        pub struct $view<'a> {
            $( $(#[$fmeta])* pub $ffield: $fty, )*
            $( $(#[$vmeta])* pub $vfield: <$vty as $crate::sip2::parse::TakeField>::View<'a>, )*
            /// Fields this message does not define, in arrival order (credentials excluded).
            pub extra: $crate::sip2::parse::Extra<'a>,
        }

        impl<'a> $view<'a> {
            #[allow(unused_variables, unused_mut)]
            pub(crate) fn parse_body(
                input: &'a [u8],
                cx: &$crate::sip2::parse::Cx<'_>,
            ) -> Result<Self, $crate::sip2::ParseError> {
                let rest = input.get(2..).unwrap_or_default();
                $( let (rest, $ffield) = cx.fixed::<$fmt>(rest, stringify!($ffield))?; )*
                let fields = cx.fields(rest)?;
                $(
                    let $vfield = <$vty as $crate::sip2::parse::TakeField>::take(
                        &fields, $crate::sip2::field::FieldId::$vid, cx)?;
                )*
                let extra = cx.extra(&fields, &[$($crate::sip2::field::FieldId::$vid),*]);
                Ok($view { $($ffield,)* $($vfield,)* extra })
            }

            /// The owned message: every borrowed value copied.
            pub fn into_owned(self) -> $name {
                $name {
                    $( $ffield: self.$ffield, )*
                    $( $vfield: <$vty as $crate::sip2::parse::TakeField>::own(self.$vfield), )*
                    extra: $crate::sip2::parse::own_extra(self.extra),
                }
            }
        }

        impl From<$view<'_>> for $name {
            fn from(view: $view<'_>) -> $name {
                view.into_owned()
            }
        }

        impl $name {
            #[allow(unused_variables)]
            pub(crate) fn encode_body(&self, w: &mut $crate::sip2::encode::Writer<'_>) {
                $( <$fmt as $crate::sip2::fixed::FixedFormat>::write(&self.$ffield, w.out); )*
                $( $crate::sip2::encode::PutField::put(
                    &self.$vfield, $crate::sip2::field::FieldId::$vid, w); )*
                w.extra(&self.extra);
            }
        }
    };
}

/// Declares the `Request` or `Response` enum from a table of command codes.
macro_rules! command_table {
    (
        $(#[$meta:meta])* $enum:ident / $enum_view:ident,
        $(#[$kmeta:meta])* $kind:ident {
            $( $code:literal => $variant:ident / $view:ident, )*
        }
    ) => {
        $(#[$meta])*
        // One message is built per exchange and moved a few times; boxing the large variants
        // would cost an allocation each for no measurable gain.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $enum {
            $( #[doc = concat!("`", stringify!($code), "`")] $variant($variant), )*
        }

        $(
            impl $variant {
                /// This message's two-digit command code.
                pub const CODE: [u8; 2] = *$code;
            }
        )*

        #[doc = concat!("[`", stringify!($enum), "`] as parsed, its values borrowed from the frame.")]
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $enum_view<'a> {
            $( #[doc = concat!("`", stringify!($code), "`")] $variant($view<'a>), )*
        }

        impl<'a> $enum_view<'a> {
            /// Which message this is, without its fields.
            pub fn kind(&self) -> $kind {
                match self {
                    $( $enum_view::$variant(_) => $kind::$variant, )*
                }
            }

            /// The owned message: every borrowed value copied.
            pub fn into_owned(self) -> $enum {
                match self {
                    $( $enum_view::$variant(m) => $enum::$variant(m.into_owned()), )*
                }
            }

            pub(crate) fn parse_body(
                input: &'a [u8],
                cx: &$crate::sip2::parse::Cx<'_>,
            ) -> Result<Self, $crate::sip2::ParseError> {
                let code = match input {
                    [a, b, ..] => [*a, *b],
                    _ => [input.first().copied().unwrap_or(b' '), b' '],
                };
                match &code {
                    $( $code => $view::parse_body(input, cx).map($enum_view::$variant), )*
                    _ => Err($crate::sip2::ParseError::UnknownCommand {
                        code: String::from_utf8_lossy(&input[..input.len().min(2)]).into_owned(),
                    }),
                }
            }
        }

        $(#[$kmeta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $kind {
            $( #[doc = concat!("`", stringify!($code), "`")] $variant, )*
        }

        impl $kind {
            /// Every kind, in table order.
            pub const ALL: &'static [$kind] = &[$($kind::$variant),*];

            /// The two-digit command code.
            pub fn code(self) -> [u8; 2] {
                match self {
                    $( $kind::$variant => *$code, )*
                }
            }

            /// The kind whose command code is `code`, if any.
            pub fn from_code(code: [u8; 2]) -> Option<$kind> {
                match &code {
                    $( $code => Some($kind::$variant), )*
                    _ => None,
                }
            }

            /// The message's name (the struct's).
            pub fn name(self) -> &'static str {
                match self {
                    $( $kind::$variant => stringify!($variant), )*
                }
            }
        }

        impl $enum {
            /// The two-digit command code.
            pub fn code(&self) -> [u8; 2] {
                self.kind().code()
            }

            /// Which message this is, without its fields.
            pub fn kind(&self) -> $kind {
                match self {
                    $( $enum::$variant(_) => $kind::$variant, )*
                }
            }

            /// The message kind whose command code is `code`, if any.
            pub fn name_of(code: [u8; 2]) -> Option<&'static str> {
                $kind::from_code(code).map($kind::name)
            }

            pub(crate) fn encode_body(&self, w: &mut $crate::sip2::encode::Writer<'_>) {
                w.out.extend_from_slice(&self.code());
                match self {
                    $( $enum::$variant(m) => m.encode_body(w), )*
                }
            }
        }

        $(
            impl From<$variant> for $enum {
                fn from(m: $variant) -> $enum {
                    $enum::$variant(m)
                }
            }
        )*
    };
}

pub(crate) use command_table;
pub(crate) use sip_message;

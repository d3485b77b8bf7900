//! A macro for enums stored as short lower-case text in the database.

/// Declares a `Copy` enum whose variants map one-to-one onto fixed strings, with `as_str`, `parse`,
/// `ALL`, `Display`, and a crate-private reader that reports unknown stored text as
/// [`StoreError::Corrupt`](crate::StoreError::Corrupt).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Returns the text stored in the database and shown in exports.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parses the stored text; returns `None` for text no variant uses.
            #[must_use]
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Parses text read from `table.column`, reporting unknown text as corruption.
            #[allow(dead_code)]
            pub(crate) fn from_db(
                text: &str,
                table: &'static str,
                column: &'static str,
            ) -> Result<$name, $crate::StoreError> {
                $name::parse(text).ok_or_else(|| $crate::StoreError::Corrupt {
                    table,
                    column,
                    expected: concat!("one of:" $(, " ", $text)+),
                    found: text.to_owned(),
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_enum;

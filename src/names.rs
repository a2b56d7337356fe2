//! Names for the library's option enums (`gpu`, `max-margin`, `lightgcn`, …): [`Named`] gives each
//! enum its list of names, `Display` and `FromStr`, so that front ends (the CLI's argument parser,
//! config forms) parse them without the library depending on any of them.

/// An enum whose values have fixed lowercase names.
pub trait Named: Copy + std::str::FromStr<Err = UnknownName> + 'static {
    /// Every value's name, in declaration order.
    const NAMES: &'static [&'static str];
    /// This value's name.
    fn name(self) -> &'static str;
}

/// A name that is none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}' (expected one of: {})", expected.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: &'static [&'static str],
}

/// Implements [`Named`], `Display` and `FromStr` for an enum from `Variant => "name"` pairs.
#[macro_export]
macro_rules! named_enum {
    ($ty:ty, $what:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $crate::names::Named for $ty {
            const NAMES: &'static [&'static str] = &[$($name),+];
            fn name(self) -> &'static str {
                match self {
                    $(<$ty>::$variant => $name),+
                }
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::names::Named::name(*self))
            }
        }
        impl ::std::str::FromStr for $ty {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(<$ty>::$variant),)+
                    _ => Err($crate::names::UnknownName {
                        what: $what,
                        given: s.to_string(),
                        expected: <$ty as $crate::names::Named>::NAMES,
                    }),
                }
            }
        }
    };
}

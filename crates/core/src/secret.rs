//! A value that must never be printed, logged or serialized: API keys, SIP passwords, login JWTs.

use std::fmt;

/// Holds a secret string.
///
/// Invariants, enforced by the type: `Debug` and `Display` print `<redacted>`; it does not
/// implement `Serialize`, so it cannot cross IPC or land in the database by accident; the only
/// way to read it is [`Secret::expose`], which makes every use greppable. The memory is
/// overwritten when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call it at the moment of use (an HTTP header, the keychain write), and
    /// never pass the result to a logger or an error message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Secrets may come *in* (the agent types the API key into Settings); they never go out.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        for byte in bytes.iter_mut() {
            // `black_box` keeps the optimiser from eliding writes to memory about to be freed.
            *byte = std::hint::black_box(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "KEY0123456789_this_is_a_test_value";

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new(KEY);
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{:#?}", Some(&secret)), "Some(\n    <redacted>,\n)");
    }

    #[test]
    fn a_struct_holding_a_secret_debugs_without_it() {
        #[derive(Debug)]
        #[expect(dead_code, reason = "the fields are read only by Debug, which the test is about")]
        struct Credentials {
            api_key: Secret,
            connection_id: String,
        }
        let credentials = Credentials { api_key: Secret::new(KEY), connection_id: "123".into() };
        let printed = format!("{credentials:?}");
        assert!(!printed.contains(KEY), "{printed}");
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn expose_gives_the_value_back() {
        assert_eq!(Secret::new(KEY).expose(), KEY);
    }

    /// `Secret` must not implement `Serialize`. Autoref specialization: the first trait applies
    /// only when the type is `Serialize`, the second (one autoref further) otherwise.
    #[test]
    #[expect(clippy::needless_borrow, reason = "the borrow picks the impl; it is the point of the probe")]
    fn secret_is_not_serializable() {
        struct Probe<T>(std::marker::PhantomData<T>);
        trait ViaSerialize {
            fn serializable(&self) -> bool {
                true
            }
        }
        impl<T: serde::Serialize> ViaSerialize for Probe<T> {}
        trait Fallback {
            fn serializable(&self) -> bool {
                false
            }
        }
        impl<T> Fallback for &Probe<T> {}

        assert!((&Probe::<String>(std::marker::PhantomData)).serializable(), "the probe works");
        assert!(!(&Probe::<Secret>(std::marker::PhantomData)).serializable());
    }
}

//! What can go wrong talking to the desktop's notification service.

/// Why a notification could not be shown or closed. Each variant is a code the shell maps to its
/// IPC error and to the in-window fallback (a ringing banner when there is no popup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// No D-Bus session bus: `DBUS_SESSION_BUS_ADDRESS` unset or nobody listening at it.
    #[error(
        "No D-Bus session bus to show call notifications on ({detail}); incoming calls ring in the \
         app window only."
    )]
    NoSessionBus { detail: String },
    /// The session bus has no `org.freedesktop.Notifications` (D-Bus `ServiceUnknown` /
    /// `NameHasNoOwner`): no desktop shell or notification daemon is running.
    #[error(
        "No notification service on the session bus ({detail}); incoming calls ring in the app window \
         only. A desktop (GNOME, KDE Plasma) or a notification daemon such as dunst or mako shows them \
         as popups."
    )]
    NoNotificationService { detail: String },
    /// The notification service answered with an error, or not in time.
    #[error("The notification service could not {operation}: {detail}")]
    Failed { operation: &'static str, detail: String },
}

impl NotifyError {
    /// The stable code of this error, e.g. `"NoNotificationService"`, for logs and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            NotifyError::NoSessionBus { .. } => "NoSessionBus",
            NotifyError::NoNotificationService { .. } => "NoNotificationService",
            NotifyError::Failed { .. } => "NotificationFailed",
        }
    }

    /// Classifies a failed method call on the notification service.
    pub(crate) fn from_call(operation: &'static str, error: zbus::Error) -> NotifyError {
        if let zbus::Error::MethodError(name, description, _) = &error {
            let detail = match description {
                Some(description) => format!("{name}: {description}"),
                None => name.to_string(),
            };
            return if means_no_service(name.as_str()) {
                NotifyError::NoNotificationService { detail }
            } else {
                NotifyError::Failed { operation, detail }
            };
        }
        NotifyError::Failed { operation, detail: error.to_string() }
    }
}

/// Whether a D-Bus error name says nobody owns the service we called.
pub(crate) fn means_no_service(error_name: &str) -> bool {
    matches!(
        error_name,
        "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner"
            | "org.freedesktop.DBus.Error.Spawn.ServiceNotFound"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_say_what_happens_next() {
        let error = NotifyError::NoNotificationService { detail: "ServiceUnknown".into() };
        assert_eq!(error.code(), "NoNotificationService");
        assert!(error.to_string().contains("ring in the app window"), "{error}");
        assert_eq!(NotifyError::NoSessionBus { detail: String::new() }.code(), "NoSessionBus");
        assert_eq!(NotifyError::Failed { operation: "show", detail: String::new() }.code(), "NotificationFailed");
    }
}

//! The native engine media (work in progress).

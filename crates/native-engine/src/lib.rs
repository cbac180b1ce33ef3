//! The native call engine (work in progress).

//! Handler (filled next).

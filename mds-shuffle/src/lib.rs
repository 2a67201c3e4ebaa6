//! numpy-exact PCG64 and the shuffle and partition algorithms of mosaicml-streaming, as pure functions.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

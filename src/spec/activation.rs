//! The activation functions a template can name, as a standalone layer (`hardswish`) or as
//! the `act` argument of a conv or linear (`act: silu`, `act: none`).

use std::fmt;

/// An elementwise activation, with PyTorch's definition of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// x·relu6(x + 3)/6 (MobileNetV3).
    HardSwish,
    /// relu6(x + 3)/6.
    HardSigmoid,
    /// x·sigmoid(x), also called swish.
    Silu,
    /// x·Φ(x) with the exact normal CDF (PyTorch's default, not the tanh approximation).
    Gelu,
    Sigmoid,
}

impl Activation {
    /// Every activation, in the order the messages list them.
    pub const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::Relu6,
        Activation::HardSwish,
        Activation::HardSigmoid,
        Activation::Silu,
        Activation::Gelu,
        Activation::Sigmoid,
    ];

    /// The word a spec writes, as `torch.nn.functional` spells it (also the layer's name
    /// stem): `relu6`, `hardswish`.
    pub fn word(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::HardSwish => "hardswish",
            Activation::HardSigmoid => "hardsigmoid",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// The activation a word names; `swish` is SiLU's other name.
    pub fn parse(word: &str) -> Option<Activation> {
        match word {
            "swish" => Some(Activation::Silu),
            "hard_swish" => Some(Activation::HardSwish),
            "hard_sigmoid" => Some(Activation::HardSigmoid),
            _ => Activation::ALL.into_iter().find(|a| a.word() == word),
        }
    }

    /// The words an `act` argument accepts, for messages.
    pub const ACT_WORDS: &'static str =
        "relu, relu6, hardswish, hardsigmoid, silu (swish), gelu, sigmoid or none (linear)";
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_aliases_parse() {
        for a in Activation::ALL {
            assert_eq!(Activation::parse(a.word()), Some(a));
        }
        assert_eq!(Activation::parse("swish"), Some(Activation::Silu));
        assert_eq!(Activation::parse("hard_swish"), Some(Activation::HardSwish));
        assert_eq!(Activation::parse("tanh"), None);
        assert_eq!(Activation::parse("none"), None);
    }
}

"""The synthetic population generator: offenders, facilitators and the legitimate look-alikes."""

from vigil.synth.generate import GenerationResult, generate

__all__ = ["GenerationResult", "generate"]

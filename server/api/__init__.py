"""Thin gRPC servicers: decode -> domain function -> encode."""

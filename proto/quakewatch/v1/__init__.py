"""The QuakeWatch v1 gRPC contract: ``*.proto`` and the stubs generated from them.

The ``*_pb2.py``, ``*_pb2_grpc.py`` and ``*.pyi`` files are produced by
``proto/generate.py`` and committed; ``tests/test_proto_stubs.py`` fails when they
are stale.
"""

"""The gRPC service: grpc.aio server, servicer, proto <-> domain conversion, interceptors."""

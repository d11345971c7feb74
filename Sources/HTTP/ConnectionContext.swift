import Telemetry

/// The objects every connection of one event loop shares: settings, routes, the response
/// encoder, metrics and the request id generator. Used only on that loop's thread.
final class ConnectionContext {
    let configuration: HTTPServerConfiguration
    let router: Router
    let logger: Logger
    let limits: RequestParser.Limits
    var encoder: ResponseEncoder
    let metrics: HTTPMetrics
    var requestIDs: RequestIDGenerator

    init(configuration: HTTPServerConfiguration, router: Router, logger: Logger, registry: MetricsRegistry, loopIndex: Int) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        limits = RequestParser.Limits(configuration)
        encoder = ResponseEncoder(compressionLevel: configuration.compressionLevel,
                                  compressionThreshold: configuration.compressionThreshold)
        metrics = HTTPMetrics(registry: registry)
        requestIDs = RequestIDGenerator(loopIndex: loopIndex)
    }
}

using System.Net;
using System.Runtime.InteropServices;
using Braid.Core.Placement;
using Braid.Node.Overlay;
using Braid.Node.Partitions;
using Braid.Node.Services;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Braid.Node;

/// <summary>The node stopped for a reason other than a signal or the caller's cancellation.</summary>
public sealed class NodeStoppedException(string nodeId, string reason)
    : Exception($"node {nodeId} stopped: {reason}");

/// <summary>Builds and runs one Braid node: Kestrel over HTTP/2 on the node's address (TLS unless --insecure).</summary>
public static class NodeHost
{
    /// <summary>Runs until <paramref name="cancellationToken"/> fires or a signal (SIGINT, SIGTERM,
    /// SIGQUIT) arrives. Throws <see cref="NodeStoppedException"/> when the host stopped for any
    /// other reason (a background loop failed), so that <c>braid node</c> exits non-zero.</summary>
    public static Task RunAsync(NodeOptions options, CancellationToken cancellationToken) =>
        RunAsync(options, started: null, cancellationToken);

    internal static async Task RunAsync(NodeOptions options, Action<IServiceProvider>? started, CancellationToken cancellationToken)
    {
        var signalled = 0;
        // Registered next to the host's own handlers (which stop it): these only note that it was a signal.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Volatile.Write(ref signalled, 1));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Volatile.Write(ref signalled, 1));
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, _ => Volatile.Write(ref signalled, 1));
        Directory.CreateDirectory(options.DataDirectory);
        var hadPlacement = PlacementRecord.CheckOrSave(options.DataDirectory, PlacementPlanner.Plan(options.PlacementTopology, options.Partitions, options.Replicas));
        options = options with { HadPlacementRecord = hadPlacement || options.JoinsExisting };
        var app = Build(options);
        var health = app.Services.GetRequiredService<NodeHealth>();
        health.Starting(); // NOT_SERVING until replay and join are done (issue 14, item 2)
        app.Services.GetRequiredService<NodeDispatcher>(); // attaches itself to the overlay before any link opens
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Braid.Node");
        Log.Started(logger, options.NodeId, options.Topology.Node(options.NodeId).Address, options.Topology.Name, options.Incarnation);
        if (options.MetricsPort > 0) Log.MetricsListening(logger, $"{options.Topology.Node(options.NodeId).Host}:{options.MetricsPort}");
        started?.Invoke(app.Services);
        try
        {
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            if (!cancellationToken.IsCancellationRequested && Volatile.Read(ref signalled) == 0)
                throw new NodeStoppedException(options.NodeId, StopReason(app.Services));
        }
        finally
        {
            health.Stopping();
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Largest overlay frame either way. A frame is split at envelope boundaries
    /// (<see cref="OverlayDriver"/>), so the bound is the largest legal envelope: a RaftBatch, which
    /// RaftDriver builds per destination and per round without a byte cap, so a catch-up round over
    /// all partitions can legitimately reach tens of MiB. Lower this once RaftBatch has a cap.</summary>
    /// <summary>The largest link frame: Raft envelopes are split at <see cref="Partitions.RaftDriver.EnvelopeRaftBytesMax"/>,
    /// so the largest legal one is a single snapshot message (<see cref="Core.Log.SnapshotStore.DataBytesMax"/>,
    /// 16 MiB) or one entry (a 4 MiB client batch) with its headers; frames gather envelopes up to 1 MiB.</summary>
    internal const int LinkFrameBytesMax = Core.Log.SnapshotStore.DataBytesMax + 4 * 1024 * 1024;

    /// <summary>The largest client request a node reads: one payload of the largest legal size and its fields.</summary>
    internal const int ClientMessageBytesMax = StreamService.PayloadBytesMax + 64 * 1024;

    private static string StopReason(IServiceProvider services)
    {
        var failures = services.GetServices<IHostedService>().OfType<BackgroundService>()
            .Where(s => s.ExecuteTask is { IsFaulted: true })
            .Select(s => $"{s.GetType().Name}: {s.ExecuteTask!.Exception!.InnerException?.Message}")
            .ToList();
        return failures.Count > 0 ? string.Join("; ", failures) : "the host stopped without a signal";
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, Action<ListenOptions> configure)
    {
        if (IPAddress.TryParse(host, out var ip)) kestrel.Listen(ip, port, configure);
        else if (host == "localhost") kestrel.ListenLocalhost(port, configure);
        else kestrel.ListenAnyIP(port, configure);
    }

    /// <summary>The node's meters (always: dotnet-counters reads them without any endpoint) and,
    /// with a metrics port, OpenTelemetry's Prometheus exporter over them.</summary>
    private static void AddMetrics(IServiceCollection services, NodeOptions options)
    {
        var meters = new Metrics.NodeMeters();
        services.AddSingleton(meters);
        services.AddSingleton<Metrics.NodeSamples>();
        services.AddSingleton<Metrics.RaftMetrics>();
        services.AddSingleton<Metrics.OverlayMetrics>();
        services.AddSingleton<Metrics.StreamMetrics>();
        services.AddSingleton<Metrics.StorageMetrics>();
        if (options.MetricsPort <= 0) return;
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            // target_info{service_name="braid",service_instance_id="<node id>"} names the node.
            .ConfigureResource(resource => resource.AddService("braid", serviceInstanceId: options.NodeId, autoGenerateServiceInstanceId: false))
            .AddMeter([.. Metrics.BraidMeters.All])
            .AddView(instrument => meters.Made(instrument.Meter) ? null : MetricStreamConfiguration.Drop)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
    }

    /// <summary>GET /metrics on the metrics port only; anything else there is 404 (the gRPC
    /// services stay on the TLS port).</summary>
    private static void MapMetrics(WebApplication app, int metricsPort)
    {
        app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Connection.LocalPort == metricsPort && context.Request.Path == "/metrics");
        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort != metricsPort) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    private static WebApplication Build(NodeOptions options)
    {
        // The default host watches appsettings.json for changes with a recursive file watcher on
        // the content root (the working directory): with data folders below it, every segment
        // write woke a watcher thread. A node reads no appsettings: no content root to watch.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var node = options.Topology.Node(options.NodeId);
            Listen(kestrel, node.Host, node.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                options.Tls?.Configure(listen);
            });
            // The scrape endpoint: its own listener, plaintext HTTP/1.1 (what Prometheus speaks).
            if (options.MetricsPort > 0) Listen(kestrel, node.Host, options.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        AddMetrics(builder.Services, options);
        builder.Services.AddSingleton<NodeHealth>();
        builder.Services.AddSingleton<OverlayDriver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OverlayDriver>());
        builder.Services.AddHostedService<LinkDialer>();
        builder.Services.AddSingleton<Partitions.StreamRegistry>();
        builder.Services.AddSingleton<Partitions.RaftDriver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Partitions.RaftDriver>());
        builder.Services.AddSingleton<Partitions.AppendForwarder>();
        builder.Services.AddSingleton<NodeDispatcher>();
        builder.Services.AddSingleton<HealthServiceImpl>();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = LinkFrameBytesMax;
            o.MaxSendMessageSize = LinkFrameBytesMax;
            if (options.Tls is not null) o.Interceptors.Add<Security.RoleInterceptor>();
        });
        // Clients send at most one batch of StreamService.PayloadBytesMax per message, plus a few
        // header bytes: anything much larger is refused before it is buffered.
        builder.Services.AddGrpc().AddServiceOptions<StreamService>(o => o.MaxReceiveMessageSize = ClientMessageBytesMax);
        builder.Services.AddGrpcReflection();
        var app = builder.Build();
        if (options.MetricsPort > 0) MapMetrics(app, options.MetricsPort);
        app.MapGrpcService<PeerService>();
        app.MapGrpcService<AdminService>();
        app.MapGrpcService<StreamService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        return app;
    }
}

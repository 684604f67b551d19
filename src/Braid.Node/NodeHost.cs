using System.Net;
using Braid.Core.Placement;
using Braid.Node.Overlay;
using Braid.Node.Partitions;
using Braid.Node.Services;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Braid.Node;

/// <summary>Builds and runs one Braid node: Kestrel over HTTP/2 cleartext on the node's address.</summary>
public static class NodeHost
{
    public static async Task RunAsync(NodeOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.DataDirectory);
        PlacementRecord.CheckOrSave(options.DataDirectory, PlacementPlanner.Plan(options.Topology, options.Partitions, options.Replicas));
        var app = Build(options);
        app.Services.GetRequiredService<NodeDispatcher>(); // attaches itself to the overlay before any link opens
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var health = app.Services.GetRequiredService<HealthServiceImpl>();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        health.SetStatus("braid.v1.Peer", HealthCheckResponse.Types.ServingStatus.Serving);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Braid.Node");
        Log.Started(logger, options.NodeId, options.Topology.Node(options.NodeId).Address, options.Topology.Name, options.Incarnation);
        try
        {
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static WebApplication Build(NodeOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var node = options.Topology.Node(options.NodeId);
            void Http2(ListenOptions listen) => listen.Protocols = HttpProtocols.Http2;
            if (IPAddress.TryParse(node.Host, out var ip)) kestrel.Listen(ip, node.Port, Http2);
            else if (node.Host == "localhost") kestrel.ListenLocalhost(node.Port, Http2);
            else kestrel.ListenAnyIP(node.Port, Http2);
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OverlayDriver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OverlayDriver>());
        builder.Services.AddHostedService<LinkDialer>();
        builder.Services.AddSingleton<Partitions.RaftDriver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Partitions.RaftDriver>());
        builder.Services.AddSingleton<Partitions.AppendForwarder>();
        builder.Services.AddSingleton<NodeDispatcher>();
        builder.Services.AddSingleton<HealthServiceImpl>();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 64 * 1024 * 1024;
            o.MaxSendMessageSize = 64 * 1024 * 1024;
        });
        builder.Services.AddGrpcReflection();
        var app = builder.Build();
        app.MapGrpcService<PeerService>();
        app.MapGrpcService<AdminService>();
        app.MapGrpcService<StreamService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        return app;
    }
}

using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// Membership changes by an operator (issue 12, item 3): the node plans the change from its
/// catalog (refreshed first), commits it in the metadata group as one catalog command, and answers
/// once its own catalog has folded it. The groups then move in the background, one server at a
/// time; the caller follows them with Describe. A repeated command changes nothing and says so.
/// </summary>
internal sealed partial class StreamService
{
    public override async Task<MembershipChangeReply> ChangeMembership(MembershipChangeRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        await raft.WaitForCatalogAsync(0, ct).ConfigureAwait(false);
        await RefreshCatalogBrieflyAsync(ct).ConfigureAwait(false);
        MembershipCommand? command;
        string summary;
        try
        {
            (command, summary) = await raft.PlanMembershipAsync(request, ct).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        if (command is null) return new MembershipChangeReply { Changed = false, CatalogVersion = raft.Streams.Catalog.Version, Summary = summary };
        var index = await CommitCatalogAsync(new CatalogCommand { Membership = command }, ct).ConfigureAwait(false);
        var reply = new MembershipChangeReply { Changed = true, CatalogVersion = index, Summary = summary };
        reply.MovedGroups.AddRange(command.Placements.Select(p => Core.Streams.StreamGroups.Describe(p.Group)));
        return reply;
    }
}

using Braid.Cli.Lab;

namespace Braid.Cli.Tests.Lab;

public sealed class LabRecordsTests
{
    [Fact]
    public void The_identity_computed_without_the_record_is_the_one_read_back_from_it()
    {
        for (ulong producer = 1; producer <= 3; producer++)
            for (long batch = 0; batch < 50; batch++)
                for (var i = 0; i < 20; i++)
                    Assert.Equal(LabRecords.IdentityOf(LabRecords.Record(producer, batch, i)), LabRecords.Identity(producer, batch, i));
    }
}

using Braid.Cli.Cluster;
using Braid.Cli.Lab;

namespace Braid.Cli.Tests.Lab;

public sealed class FaultPlanTests
{
    [Fact]
    public void The_same_seed_gives_the_same_schedule_and_another_seed_another()
    {
        var classes = FaultPlan.ParseClasses("kill,pause,partition");
        var a = FaultPlan.Make(classes, 300, 42, (3, 8), (2, 5));
        var b = FaultPlan.Make(classes, 300, 42, (3, 8), (2, 5));
        var c = FaultPlan.Make(classes, 300, 43, (3, 8), (2, 5));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Faults_do_not_overlap_fit_the_duration_and_every_class_gets_its_turn()
    {
        var plan = FaultPlan.Make(FaultPlan.Classes, 1800, 7, (3, 8), (2, 5));
        Assert.InRange(plan.Count, 150, 300);
        for (var i = 1; i < plan.Count; i++)
            Assert.True(plan[i].StartSeconds >= plan[i - 1].StartSeconds + plan[i - 1].DurationSeconds + 1.9, $"fault {i} starts before fault {i - 1} healed");
        Assert.All(plan, f => Assert.InRange(f.DurationSeconds, 3, 8));
        Assert.True(plan[^1].StartSeconds + plan[^1].DurationSeconds <= 1800);
        // Shuffled rounds: the first round already holds every class once.
        Assert.Equal(FaultPlan.Classes.Order(), plan.Take(FaultPlan.Classes.Count).Select(f => f.Class).Order());
    }

    [Fact]
    public void Unknown_classes_are_refused_by_name_and_all_means_every_class()
    {
        var e = Assert.Throws<CliException>(() => FaultPlan.ParseClasses("kill,meteor"));
        Assert.Contains("meteor", e.Message);
        Assert.Equal(FaultPlan.Classes, FaultPlan.ParseClasses("all"));
        Assert.Throws<CliException>(() => FaultPlan.ParseClasses(","));
    }

    [Fact]
    public void Loss_is_a_class_of_its_own_chosen_by_name_or_by_all_and_asks_for_a_short_dead_after()
    {
        Assert.Equal(["kill", "loss"], FaultPlan.ParseClasses("kill, loss,kill"));
        Assert.Contains("loss", FaultPlan.ParseClasses("all"));
        Assert.Contains("loss", FaultPlan.MembershipClasses);
        Assert.Equal("5s", FaultPlan.DefaultLossDeadAfter);
        Assert.DoesNotContain("loss", FaultPlan.NetworkClasses);
        Assert.DoesNotContain("loss", FaultPlan.DiskClasses);
        var plan = FaultPlan.Make(FaultPlan.ParseClasses("loss,kill"), 120, 3, (3, 8), (2, 5));
        Assert.Contains(plan, f => f.Class == "loss");
    }
}

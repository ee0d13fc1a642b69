namespace Iwrs.Simulate.Tests;

public sealed class ScenarioTests
{
    [Theory]
    [InlineData(4.0, 21)]
    [InlineData(3.5, 21)]
    [InlineData(6.0, 28)]
    public void StopPerCycle_NoOtherStops_HalfStillOnTreatmentAtTheMedian(double medianMonths, int cycleDays)
    {
        var scenario = Scenario.For(SimulatedStudies.Lj) with { MedianPfsMonths = medianMonths, OtherStopPerCycle = 0 };
        var cyclesToMedian = medianMonths * Scenario.DaysPerMonth / cycleDays;
        Assert.Equal(0.5, Math.Pow(1 - scenario.StopPerCycle(cycleDays), cyclesToMedian), 9);
    }

    [Fact]
    public void StopPerCycle_OtherStops_CombineAsIndependentHazards()
    {
        var none = Scenario.For(SimulatedStudies.Lj) with { OtherStopPerCycle = 0 };
        var some = none with { OtherStopPerCycle = 0.02 };
        Assert.Equal((1 - none.StopPerCycle(21)) * 0.98, 1 - some.StopPerCycle(21), 12);
    }

    [Fact]
    public void For_SeedStudies_ThePresetsTheReadmeDocuments()
    {
        var lj = Scenario.For(SimulatedStudies.Lj);
        var akk = Scenario.For(SimulatedStudies.Akk);
        Assert.Equal((150, 7.5, 4.0), (lj.Subjects, lj.SubjectsPerMonth, lj.MedianPfsMonths));
        Assert.Equal((22, 2.0, 3.5), (akk.Subjects, akk.SubjectsPerMonth, akk.MedianPfsMonths));
    }
}

namespace Iwrs.Simulate.Tests;

public sealed class SeededRandomTests
{
    [Fact]
    public void NextUInt64_SameSeedRunAndStream_SameSequence()
    {
        var a = new SeededRandom(7, 3, 1);
        var b = new SeededRandom(7, 3, 1);
        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.NextUInt64()), Enumerable.Range(0, 100).Select(_ => b.NextUInt64()));
    }

    [Theory]
    [InlineData(8UL, 3UL, 1UL)]
    [InlineData(7UL, 4UL, 1UL)]
    [InlineData(7UL, 3UL, 2UL)]
    public void NextUInt64_AnotherSeedRunOrStream_AnotherSequence(ulong seed, ulong run, ulong stream)
    {
        var first = new SeededRandom(7, 3, 1).NextUInt64();
        Assert.NotEqual(first, new SeededRandom(seed, run, stream).NextUInt64());
    }

    [Fact]
    public void Next_ManyDraws_EveryValueInRangeAndRoughlyUniform()
    {
        var random = new SeededRandom(1, 0, 0);
        var counts = new int[7];
        for (var i = 0; i < 70_000; i++)
        {
            counts[random.Next(7)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
    }

    [Fact]
    public void Between_BothEndsIncluded()
    {
        var random = new SeededRandom(1, 0, 0);
        var seen = Enumerable.Range(0, 1_000).Select(_ => random.Between(-3, 3)).ToHashSet();
        Assert.Equal(Enumerable.Range(-3, 7).ToHashSet(), seen);
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.3)]
    [InlineData(2.0)]
    public void Poisson_ManyDraws_MeanAndVarianceNearTheMean(double mean)
    {
        var random = new SeededRandom(2, 0, 0);
        var draws = Enumerable.Range(0, 200_000).Select(_ => (double)random.Poisson(mean)).ToList();
        var average = draws.Average();
        var variance = draws.Sum(d => (d - average) * (d - average)) / draws.Count;
        Assert.InRange(average, mean * 0.97, mean * 1.03);
        Assert.InRange(variance, mean * 0.95, mean * 1.05);
    }

    [Fact]
    public void Poisson_ZeroMean_AlwaysZero()
    {
        var random = new SeededRandom(3, 0, 0);
        Assert.All(Enumerable.Range(0, 100).Select(_ => random.Poisson(0)), n => Assert.Equal(0, n));
    }
}

using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

public sealed class TableClientOptionsTests
{
    [Fact]
    public void Defaults_AreTheDocumentedValues()
    {
        var options = new TableClientOptions();

        Assert.Equal(4, options.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.BaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), options.PerTryTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.OverallTimeout);
        options.Validate();
    }

    [Fact]
    public void Validate_SeveralProblems_ListsEveryOne()
    {
        var options = new TableClientOptions
        {
            MaxRetries = -1,
            BaseDelay = TimeSpan.FromSeconds(-1),
            MaxDelay = TimeSpan.Zero,
            PerTryTimeout = TimeSpan.FromMilliseconds(5),
            OverallTimeout = TimeSpan.FromDays(2),
        };

        var ex = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains("MaxRetries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("BaseDelay", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxDelay", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PerTryTimeout", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OverallTimeout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InconsistentPair_Reported()
    {
        var options = new TableClientOptions
        {
            BaseDelay = TimeSpan.FromSeconds(10),
            MaxDelay = TimeSpan.FromSeconds(1),
            PerTryTimeout = TimeSpan.FromSeconds(40),
            OverallTimeout = TimeSpan.FromSeconds(30),
        };

        var ex = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains("must not exceed MaxDelay", ex.Message, StringComparison.Ordinal);
        Assert.Contains("must not be shorter than PerTryTimeout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TableServiceClient_InvalidOptions_FailsAtConstruction()
    {
        var options = new TableClientOptions { MaxRetries = 1000 };

        Assert.Throws<ArgumentException>(() => TestClients.Stub(new StubHttpHandler(), options: options));
    }
}

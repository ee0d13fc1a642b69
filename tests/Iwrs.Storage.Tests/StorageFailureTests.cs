using Azure;

namespace Iwrs.Storage.Tests;

public sealed class StorageFailureTests
{
    [Theory]
    [InlineData(0, true)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(400, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(412, false)]
    public void IsUnavailable_RequestFailedStatus(int status, bool unavailable)
    {
        var e = new RequestFailedException(status, "refused");

        Assert.Equal(unavailable, StorageFailure.IsUnavailable(e));
        Assert.True(StorageFailure.IsStorageError(e));
    }

    [Fact]
    public void IsUnavailable_RetriesExhaustedOnTransportFailures_True()
    {
        var e = new AggregateException(
            new RequestFailedException(0, "Connection refused", new HttpRequestException("Connection refused")),
            new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout"));

        Assert.True(StorageFailure.IsUnavailable(e));
    }

    [Fact]
    public void IsUnavailable_AggregateWithAVerdictOrSomethingElse_False()
    {
        Assert.False(StorageFailure.IsUnavailable(new AggregateException(new RequestFailedException(0, "x"), new RequestFailedException(409, "y"))));
        Assert.False(StorageFailure.IsUnavailable(new AggregateException()));
        Assert.False(StorageFailure.IsUnavailable(new InvalidOperationException()));
        Assert.False(StorageFailure.IsStorageError(new InvalidOperationException()));
    }

    [Fact]
    public void Options_RetrySettingsInvalid_EveryErrorListed()
    {
        var errors = new StorageRetryOptions { MaxRetries = -1, Delay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromSeconds(1), NetworkTimeout = TimeSpan.Zero }
            .Validate("Storage:Retry:");

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Storage:Retry:MaxRetries", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Storage:Retry:Delay", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Storage:Retry:NetworkTimeout", StringComparison.Ordinal));
        Assert.Empty(new StorageRetryOptions().Validate("Storage:Retry:"));
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true")]
    [InlineData("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=iwrsprod;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net")]
    public void CheckConnectionString_Accepted(string connectionString)
    {
        Assert.Null(StorageClients.CheckConnectionString(connectionString));
    }

    [Theory]
    [InlineData("not a connection string")]
    [InlineData("AccountName=x")]
    public void CheckConnectionString_Refused(string connectionString)
    {
        Assert.NotNull(StorageClients.CheckConnectionString(connectionString));
    }
}

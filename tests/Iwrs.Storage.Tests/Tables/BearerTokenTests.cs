using System.Net;
using Azure.Core;
using Iwrs.Storage.Tables;
using Iwrs.Testing;
using Moq;

namespace Iwrs.Storage.Tests.Tables;

public sealed class BearerTokenTests
{
    private static readonly Uri Endpoint = new("https://myaccount.table.core.windows.net");

    [Fact]
    public async Task Requests_TokenCredential_SendBearerAndReuseCachedToken()
    {
        var credential = new Mock<TokenCredential>();
        credential
            .Setup(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new AccessToken("token-1", TestClients.Start.AddHours(1)));
        var handler = new StubHttpHandler().Respond(HttpStatusCode.OK, "{\"value\":[]}").Respond(HttpStatusCode.OK, "{\"value\":[]}");
        var time = new ManualTimeProvider(TestClients.Start);
        var service = new TableServiceClient(
            TableStorageAccount.ForTokenCredential(Endpoint, credential.Object), new HttpClient(handler), time, TestClients.FastRetries());

        await service.PingAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(54));
        await service.PingAsync(CancellationToken.None);

        Assert.All(handler.Requests, r => Assert.Equal("Bearer token-1", r.Header("Authorization")));
        credential.Verify(
            c => c.GetTokenAsync(
                It.Is<TokenRequestContext>(ctx => ctx.Scopes.SequenceEqual(new[] { "https://storage.azure.com/.default" })),
                It.IsAny<CancellationToken>()),
            Times.Once);
    }

    [Fact]
    public async Task Requests_WithinFiveMinutesOfExpiry_FetchNewToken()
    {
        var credential = new Mock<TokenCredential>();
        credential
            .SetupSequence(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new AccessToken("token-1", TestClients.Start.AddHours(1)))
            .ReturnsAsync(new AccessToken("token-2", TestClients.Start.AddHours(2)));
        var handler = new StubHttpHandler().Respond(HttpStatusCode.OK, "{\"value\":[]}").Respond(HttpStatusCode.OK, "{\"value\":[]}");
        var time = new ManualTimeProvider(TestClients.Start);
        var service = new TableServiceClient(
            TableStorageAccount.ForTokenCredential(Endpoint, credential.Object), new HttpClient(handler), time, TestClients.FastRetries());

        await service.PingAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(55));
        await service.PingAsync(CancellationToken.None);

        Assert.Equal(["Bearer token-1", "Bearer token-2"], handler.Requests.Select(r => r.Header("Authorization")));
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Fact]
    public async Task Request_FailedTokenFetch_NextRequestTriesAgain()
    {
        var credential = new Mock<TokenCredential>();
        credential
            .SetupSequence(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new InvalidOperationException("identity endpoint down"))
            .ReturnsAsync(new AccessToken("token-2", TestClients.Start.AddHours(1)));
        var handler = new StubHttpHandler().Respond(HttpStatusCode.OK, "{\"value\":[]}");
        var service = new TableServiceClient(
            TableStorageAccount.ForTokenCredential(Endpoint, credential.Object), new HttpClient(handler),
            new ManualTimeProvider(TestClients.Start), TestClients.FastRetries());

        await Assert.ThrowsAsync<InvalidOperationException>(() => service.PingAsync(CancellationToken.None));
        await service.PingAsync(CancellationToken.None);

        Assert.Equal("Bearer token-2", handler.Single().Header("Authorization"));
    }
}

using Iwrs.Storage.Tables;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests.Tables;

public sealed class SharedKeyLiteSignerTests
{
    private static readonly byte[] EmulatorKey = Convert.FromBase64String(AzuriteServer.AccountKey);

    [Fact]
    public void Sign_EmulatorKeyPublishedVector_MatchesKnownAnswer()
    {
        var signer = new SharedKeyLiteSigner("devstoreaccount1", EmulatorKey);

        var signature = signer.Sign("Sat, 22 May 2021 22:49:50 GMT\n/devstoreaccount1/devstoreaccount1/test");

        Assert.Equal("jiUVQ7VyIq74T0M3pPlqNZ7+cb8wTTamlhqH+jt6rzU=", signature);
    }

    /// <summary>
    /// Derived independently of this code with OpenSSL:
    /// <code>
    /// KEY=$(printf 'iwrs-test-key-0123456789' | base64)            # aXdycy10ZXN0LWtleS0wMTIzNDU2Nzg5
    /// printf "Tue, 01 Apr 2025 08:00:00 GMT\n/myaccount/mytable(PartitionKey='O%%27%%27Brien',RowKey='Z%%C3%%BCrich')" \
    ///   | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(echo -n $KEY | base64 -d | xxd -p -c 256) -binary | base64
    /// </code>
    /// The resource is built from the real URL, so this also pins that keys are signed quote-doubled and percent-encoded.
    /// </summary>
    [Fact]
    public void Sign_OpenSslDerivedVectorWithEscapedKeys_MatchesKnownAnswer()
    {
        var signer = new SharedKeyLiteSigner("myaccount", Convert.FromBase64String("aXdycy10ZXN0LWtleS0wMTIzNDU2Nzg5"));
        var uri = new Uri(TableUrls.Entity("https://myaccount.table.core.windows.net", "mytable", "O'Brien", "Zürich"));

        var stringToSign = SharedKeyLiteSigner.StringToSign("Tue, 01 Apr 2025 08:00:00 GMT", "myaccount", uri);

        Assert.Equal("Tue, 01 Apr 2025 08:00:00 GMT\n/myaccount/mytable(PartitionKey='O%27%27Brien',RowKey='Z%C3%BCrich')", stringToSign);
        Assert.Equal("AhGwkPekLwF/skB6f82TYSZ0oZjxxpXspzBTNHpiNx4=", signer.Sign(stringToSign));
    }

    /// <summary>
    /// OpenSSL again, same key: <c>printf 'Tue, 01 Apr 2025 08:00:00 GMT\n/myaccount/?comp=properties' | openssl dgst …</c>.
    /// Only <c>comp</c> belongs to the canonicalized resource; other query parameters do not.
    /// </summary>
    [Fact]
    public void StringToSign_CompAmongOtherQueryParameters_KeepsOnlyComp()
    {
        var signer = new SharedKeyLiteSigner("myaccount", Convert.FromBase64String("aXdycy10ZXN0LWtleS0wMTIzNDU2Nzg5"));
        var uri = new Uri("https://myaccount.table.core.windows.net/?restype=service&comp=properties&timeout=30");

        var stringToSign = SharedKeyLiteSigner.StringToSign("Tue, 01 Apr 2025 08:00:00 GMT", "myaccount", uri);

        Assert.Equal("Tue, 01 Apr 2025 08:00:00 GMT\n/myaccount/?comp=properties", stringToSign);
        Assert.Equal("3hSg80jPwL4VLPAHqUfos5R9NkLKCWr4cSMxQoMZWWY=", signer.Sign(stringToSign));
    }

    [Fact]
    public void CanonicalizedResource_PathStyleEmulatorUrl_HasAccountTwice()
    {
        var resource = SharedKeyLiteSigner.CanonicalizedResource(
            "devstoreaccount1", new Uri("http://127.0.0.1:10002/devstoreaccount1/mytable()?$filter=PartitionKey%20eq%20%27p%27&$top=5"));

        Assert.Equal("/devstoreaccount1/devstoreaccount1/mytable()", resource);
    }

    [Fact]
    public async Task AuthorizeAsync_RequestWithDate_SetsSharedKeyLiteHeader()
    {
        var signer = new SharedKeyLiteSigner("devstoreaccount1", EmulatorKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1:10002/devstoreaccount1/test");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Sat, 22 May 2021 22:49:50 GMT");

        await signer.AuthorizeAsync(request, TestClients.Start, CancellationToken.None);

        Assert.Equal("SharedKeyLite devstoreaccount1:jiUVQ7VyIq74T0M3pPlqNZ7+cb8wTTamlhqH+jt6rzU=", string.Join(",", request.Headers.GetValues("Authorization")));
    }

    [Fact]
    public async Task AuthorizeAsync_NoDateHeader_Throws()
    {
        var signer = new SharedKeyLiteSigner("devstoreaccount1", EmulatorKey);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:10002/devstoreaccount1/test");

        await Assert.ThrowsAsync<InvalidOperationException>(() => signer.AuthorizeAsync(request, TestClients.Start, CancellationToken.None).AsTask());
    }
}

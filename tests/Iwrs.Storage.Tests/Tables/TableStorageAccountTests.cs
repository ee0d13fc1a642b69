using System.Net;
using Azure.Core;
using Iwrs.Storage.Tables;
using Iwrs.Testing;
using Moq;

namespace Iwrs.Storage.Tests.Tables;

public sealed class TableStorageAccountTests
{
    private const string SecretKey = "c2VjcmV0LWtleS1ub2JvZHktc2hvdWxkLXNlZQ==";

    [Fact]
    public void Parse_UseDevelopmentStorage_EmulatorDefaults()
    {
        var account = TableStorageAccount.Parse("UseDevelopmentStorage=true");

        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), account.TableEndpoint);
        Assert.Equal("devstoreaccount1", account.AccountName);
        Assert.True(account.UsesSharedKey);
    }

    [Fact]
    public void Parse_AccountNameKeySuffix_BuildsHttpsHostEndpoint()
    {
        var account = TableStorageAccount.Parse($"DefaultEndpointsProtocol=https;AccountName=iwrsprod;AccountKey={SecretKey};EndpointSuffix=core.windows.net");

        Assert.Equal(new Uri("https://iwrsprod.table.core.windows.net"), account.TableEndpoint);
        Assert.Equal("iwrsprod", account.AccountName);
        Assert.True(account.UsesSharedKey);
    }

    [Fact]
    public void Parse_NoProtocolOrSuffix_DefaultsToHttpsAndPublicCloud()
    {
        var account = TableStorageAccount.Parse($"AccountName=iwrsprod;AccountKey={SecretKey}");

        Assert.Equal(new Uri("https://iwrsprod.table.core.windows.net"), account.TableEndpoint);
    }

    [Fact]
    public void Parse_OtherCloudSuffixAndOtherServiceEndpoints_TableEndpointFromSuffix()
    {
        var account = TableStorageAccount.Parse(
            $"DefaultEndpointsProtocol=https;AccountName=iwrs;AccountKey={SecretKey};EndpointSuffix=core.chinacloudapi.cn;BlobEndpoint=https://iwrs.blob.core.chinacloudapi.cn/");

        Assert.Equal(new Uri("https://iwrs.table.core.chinacloudapi.cn"), account.TableEndpoint);
    }

    [Fact]
    public void Parse_AzuriteStyleExplicitEndpoint_PathStyleAccount()
    {
        var account = TableStorageAccount.Parse(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteServer.AccountKey};TableEndpoint=http://127.0.0.1:54321/devstoreaccount1;");

        Assert.Equal(new Uri("http://127.0.0.1:54321/devstoreaccount1"), account.TableEndpoint);
        Assert.Equal("devstoreaccount1", account.AccountName);
    }

    [Theory]
    [InlineData("TableEndpoint=http://127.0.0.1:54321/devstoreaccount1")]
    [InlineData("TableEndpoint=http://localhost:54321/devstoreaccount1/")]
    public void Parse_EndpointOnlyForEmulatorAccount_UsesPublishedEmulatorKey(string connectionString)
    {
        var account = TableStorageAccount.Parse(connectionString);

        Assert.Equal("devstoreaccount1", account.AccountName);
        Assert.True(account.UsesSharedKey);
        Assert.False(account.TableEndpoint.AbsoluteUri.EndsWith('/'));
    }

    [Fact]
    public async Task Parse_EndpointOnlyForEmulatorAccount_SignsWithEmulatorKey()
    {
        var handler = new StubHttpHandler().Respond(HttpStatusCode.NoContent, configure: r => r.Headers.TryAddWithoutValidation("ETag", "W/\"1\""));
        var account = TableStorageAccount.Parse("TableEndpoint=http://127.0.0.1:10002/devstoreaccount1");
        var service = new TableServiceClient(account, new HttpClient(handler), new ManualTimeProvider(TestClients.Start));

        await service.GetTableClient("test").InsertAsync(new TableEntity("p", "r"));

        Assert.Equal("SharedKeyLite devstoreaccount1:jiUVQ7VyIq74T0M3pPlqNZ7+cb8wTTamlhqH+jt6rzU=", handler.Single().Header("Authorization"));
    }

    [Fact]
    public void Parse_EndpointWithDnsHost_AccountFromFirstLabel()
    {
        var account = TableStorageAccount.Parse($"TableEndpoint=https://iwrs.table.core.windows.net/;AccountKey={SecretKey}");

        Assert.Equal("iwrs", account.AccountName);
        Assert.Equal(new Uri("https://iwrs.table.core.windows.net"), account.TableEndpoint);
    }

    [Fact]
    public void Parse_CaseInsensitiveNamesAndSpaces_Accepted()
    {
        var account = TableStorageAccount.Parse($" accountname = iwrs ; ACCOUNTKEY={SecretKey} ; ");

        Assert.Equal("iwrs", account.AccountName);
    }

    public static TheoryData<string, string[]> BadStrings => new()
    {
        { "", ["empty"] },
        { "   ", ["empty"] },
        { "AccountName=iwrs", ["AccountKey is missing"] },
        { $"AccountKey={SecretKey}", ["AccountName is missing"] },
        { "AccountName=iwrs;AccountKey=not*base64!", ["AccountKey is not valid base64"] },
        { "AccountName=Bad_Name;AccountKey=", ["AccountName must be", "AccountKey has no value", "AccountKey is missing"] },
        { $"AccountName=iwrs;AccountKey={SecretKey};DefaultEndpointsProtocol=ftp", ["DefaultEndpointsProtocol"] },
        { $"AccountName=iwrs;AccountKey={SecretKey};AccountName=other", ["given more than once"] },
        { $"AccountName=iwrs;{SecretKey}", ["Segment 2", "AccountKey is missing"] },
        { $"AcountKey={SecretKey};AccountName=iwrs", ["'AcountKey' is not a recognised setting", "AccountKey is missing"] },
        { "UseDevelopmentStorage=false", ["UseDevelopmentStorage must be 'true'"] },
        { $"UseDevelopmentStorage=true;AccountKey={SecretKey}", ["cannot be combined"] },
        { "AccountName=iwrs;SharedAccessSignature=sv=2020&sig=abc", ["SharedAccessSignature is not supported", "AccountKey is missing"] },
        { $"TableEndpoint=not a url;AccountKey={SecretKey}", ["TableEndpoint must be an absolute http or https URL"] },
        { $"TableEndpoint=http://127.0.0.1:10002;AccountKey={SecretKey}", ["first path segment"] },
        { $"TableEndpoint=http://127.0.0.1:10002/acct1;AccountName=acct2;AccountKey={SecretKey}", ["does not match"] },
        { "TableEndpoint=http://127.0.0.1:10002/someaccount", ["AccountKey is missing"] },
    };

    [Theory]
    [MemberData(nameof(BadStrings))]
    public void Parse_BadString_FormatExceptionListsEveryProblemWithoutTheKey(string connectionString, string[] problems)
    {
        var ex = Assert.Throws<FormatException>(() => TableStorageAccount.Parse(connectionString));

        foreach (var problem in problems)
        {
            Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(SecretKey, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretKey[..12], ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64!", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=abc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_SharedKeyAccount_NoKey()
    {
        var account = TableStorageAccount.Parse($"AccountName=iwrs;AccountKey={SecretKey}");

        Assert.DoesNotContain(SecretKey, account.ToString(), StringComparison.Ordinal);
        Assert.Contains("iwrs", account.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ForTokenCredential_HttpsHostEndpoint_AccountFromHostAndNotSharedKey()
    {
        var account = TableStorageAccount.ForTokenCredential(new Uri("https://iwrs.table.core.windows.net/"), Mock.Of<TokenCredential>());

        Assert.Equal("iwrs", account.AccountName);
        Assert.False(account.UsesSharedKey);
        Assert.Equal(new Uri("https://iwrs.table.core.windows.net"), account.TableEndpoint);
    }

    [Fact]
    public void ForTokenCredential_PlainHttpRemoteHost_Refused()
    {
        var ex = Assert.Throws<ArgumentException>(
            () => TableStorageAccount.ForTokenCredential(new Uri("http://iwrs.table.core.windows.net"), Mock.Of<TokenCredential>()));

        Assert.Contains("https", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForTokenCredential_LoopbackPathStyle_AccountFromPath()
    {
        var account = TableStorageAccount.ForTokenCredential(new Uri("http://127.0.0.1:10002/devstoreaccount1"), Mock.Of<TokenCredential>());

        Assert.Equal("devstoreaccount1", account.AccountName);
    }
}

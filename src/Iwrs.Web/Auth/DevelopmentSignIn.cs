using System.Net;
using System.Net.Http.Json;
using Iwrs.Web.Api;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace Iwrs.Web.Auth;

/// <summary>
/// The local sign-in: a token from <c>POST /api/dev/token</c> (which exists only where the API's development issuer
/// is on), kept in the tab's session storage so a reload stays signed in and closing the tab signs out.
/// </summary>
public sealed class DevelopmentSignIn(HttpClient http, IJSRuntime js) : IAccessTokenSource
{
    private const string Key = "iwrs.dev-token";
    private string? _token;
    private bool _loaded;

    public string SignInPath => "signin";

    public string SignOutPath => "signout";

    public void SignOut(NavigationManager navigation) => navigation.NavigateTo(SignOutPath);

    public async ValueTask<string?> GetAsync()
    {
        if (!_loaded)
        {
            _token = await js.InvokeAsync<string?>("sessionStorage.getItem", Key);
            _loaded = true;
        }

        return _token;
    }

    /// <summary>Whether the API offers development tokens: an empty request is refused as invalid (400) where the
    /// endpoint works, and answered 404 where it is off. Nothing is issued by asking.</summary>
    public async Task<bool> AvailableAsync()
    {
        try
        {
            using var response = await http.PostAsJsonAsync("api/dev/token", new { }, IwrsApi.Json);
            return response.StatusCode == HttpStatusCode.BadRequest;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public async Task SignInAsync(string userId)
    {
        using var response = await http.PostAsJsonAsync("api/dev/token", new { userId }, IwrsApi.Json);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadFromJsonAsync<ApiProblem>(IwrsApi.Json);
            throw new ApiProblemException(problem! with { Status = (int)response.StatusCode });
        }

        var answer = (await response.Content.ReadFromJsonAsync<TokenAnswer>(IwrsApi.Json))!;
        await js.InvokeVoidAsync("sessionStorage.setItem", Key, answer.AccessToken);
        _token = answer.AccessToken;
        _loaded = true;
    }

    public async Task SignOutAsync()
    {
        await js.InvokeVoidAsync("sessionStorage.removeItem", Key);
        _token = null;
        _loaded = true;
    }
}

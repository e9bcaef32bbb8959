using System.Text;
using KestrelSocks.Authentication;
using KestrelSocks.Configuration;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Authentication;

public sealed class UserStoreTests
{
    private static readonly string _longUsername = new('U', 255);
    private static readonly string _longPassword = new('P', 255);

    private readonly UserStore _store = CreateStore(
        ("alice", "secret"),
        ("bob", "hunter2"),
        ("jürgen", "pässwörd"),
        (_longUsername, _longPassword));

    [Theory]
    [InlineData("alice", "secret")]
    [InlineData("bob", "hunter2")]
    [InlineData("jürgen", "pässwörd")]
    public void RightUserAndPassword_SucceedsWithTheUsername(string username, string password)
    {
        Assert.True(_store.TryAuthenticate(Request(username, password), out var authenticated));

        Assert.Equal(username, authenticated);
    }

    [Theory]
    [InlineData("alice", "hunter2")]
    [InlineData("alice", "Secret")]
    [InlineData("alice", "secre")]
    [InlineData("alice", "secret ")]
    [InlineData("alice", "")]
    [InlineData("bob", "secret")]
    public void WrongPassword_Fails(string username, string password)
    {
        Assert.False(_store.TryAuthenticate(Request(username, password), out _));
    }

    [Theory]
    [InlineData("carol", "secret")]
    [InlineData("Alice", "secret")]
    [InlineData("alice ", "secret")]
    [InlineData("", "secret")]
    [InlineData("", "")]
    public void UnknownUser_Fails(string username, string password)
    {
        Assert.False(_store.TryAuthenticate(Request(username, password), out _));
    }

    [Fact]
    public void UnknownUser_WithThePlaceholderDigestsPassword_Fails()
    {
        // An unknown user is compared against a fixed digest so it costs the same work as a wrong password;
        // sending the text behind that digest must not get anyone in.
        Assert.False(_store.TryAuthenticate(new UsernamePasswordRequest("mallory"u8, "\0no such user\0"u8), out _));
    }

    [Fact]
    public void EmptyUsernameAndPassword_ConfiguredAndUsed_Succeeds()
    {
        var store = CreateStore(("", ""));

        Assert.True(store.TryAuthenticate(Request("", ""), out var username));
        Assert.Equal("", username);
        Assert.False(store.TryAuthenticate(Request("", "x"), out _));
        Assert.False(store.TryAuthenticate(Request("x", ""), out _));
    }

    [Fact]
    public void EmptyPassword_ConfiguredForAUser_OnlyMatchesAnEmptyPassword()
    {
        var store = CreateStore(("guest", ""));

        Assert.True(store.TryAuthenticate(Request("guest", ""), out _));
        Assert.False(store.TryAuthenticate(Request("guest", "guest"), out _));
    }

    [Fact]
    public void Credentials255BytesLong_Succeed()
    {
        Assert.True(_store.TryAuthenticate(Request(_longUsername, _longPassword), out var username));

        Assert.Equal(_longUsername, username);
        Assert.False(_store.TryAuthenticate(Request(_longUsername, _longPassword[..254]), out _));
        Assert.False(_store.TryAuthenticate(Request(_longUsername[..254], _longPassword), out _));
        Assert.False(_store.TryAuthenticate(Request(_longUsername, _longPassword[..254] + "Q"), out _));
    }

    [Fact]
    public void NoUsersConfigured_EverythingFails()
    {
        var store = CreateStore();

        Assert.False(store.TryAuthenticate(Request("", ""), out _));
        Assert.False(store.TryAuthenticate(Request("alice", "secret"), out _));
    }

    [Fact]
    public void FailedAttempt_StillReportsTheUsernameTried()
    {
        // The session logs who failed, so the username is decoded even on failure.
        Assert.False(_store.TryAuthenticate(Request("alice", "wrong"), out var username));

        Assert.Equal("alice", username);
    }

    [Fact]
    public void InvalidUtf8Username_DoesNotMatchANameWithAReplacementCharacter()
    {
        var store = CreateStore(("\uFFFD", "secret"));
        var request = new UsernamePasswordRequest([0xFF], Encoding.UTF8.GetBytes("secret"));

        Assert.False(store.TryAuthenticate(request, out _));
        Assert.True(store.TryAuthenticate(Request("\uFFFD", "secret"), out _));
    }

    private static UsernamePasswordRequest Request(string username, string password) =>
        new(Encoding.UTF8.GetBytes(username), Encoding.UTF8.GetBytes(password));

    private static UserStore CreateStore(params (string Username, string Password)[] users)
    {
        var options = new KestrelSocksOptions();
        foreach (var (username, password) in users)
        {
            options.Authentication.Users.Add(new SocksUser { Username = username, Password = password });
        }

        return new UserStore(Options.Create(options));
    }
}

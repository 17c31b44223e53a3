from custodes.cli.app import main

main()
